select * from {{ source('sample', 'supplier_invoices') }}
