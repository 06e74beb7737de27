-- MetricFlow needs a daily time spine model; 2020-2030 covers every date of the sample data.
{{ config(materialized='table') }}
select cast(range as date) as date_day
from range(date '2020-01-01', date '2031-01-01', interval 1 day)
