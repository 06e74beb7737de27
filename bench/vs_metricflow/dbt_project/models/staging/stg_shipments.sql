select * from {{ source('sample', 'shipments') }}
