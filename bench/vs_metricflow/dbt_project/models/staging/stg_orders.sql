select * from {{ source('sample', 'orders') }}
