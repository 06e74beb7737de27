select * from {{ source('sample', 'warehouse_months') }}
