select * from {{ source('sample', 'web_sessions') }}
