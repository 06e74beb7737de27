select * from {{ source('sample', 'contracts') }}
