select * from {{ source('sample', 'purchase_orders') }}
