select * from {{ source('sample', 'leads') }}
