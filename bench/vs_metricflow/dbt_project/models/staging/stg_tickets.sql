select * from {{ source('sample', 'tickets') }}
