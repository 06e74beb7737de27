select * from {{ source('sample', 'customers') }}
