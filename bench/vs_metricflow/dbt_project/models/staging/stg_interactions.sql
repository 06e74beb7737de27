select * from {{ source('sample', 'interactions') }}
