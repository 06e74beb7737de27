-- kpictl: sales_last_year
WITH
-- scan: sales by week: every aggregate below in one pass
-- kpi: sales (metrics/sales.yml:2)
scan_1 AS MATERIALIZED (
  SELECT
    CAST(date_trunc('week', CAST("sales"."d" AS DATE)) AS DATE) AS period_,
    SUM("sales"."amount") AS "sales__1",
    COUNT(*) AS "sales__2"
  FROM "sales"
  WHERE "sales"."d" IS NOT NULL
  GROUP BY 1
),
-- range: the first and last week with rows in scan_1 (the spine spans them whatever --from/--to)
range_sales_week AS (
  SELECT min(period_) AS first_, max(period_) AS last_
  FROM (
    SELECT period_ FROM scan_1
  ) AS p
),
-- spine: every week of the range
spine_1 AS (
  SELECT p.period_
  FROM (SELECT CAST(unnest(generate_series((SELECT first_ FROM range_sales_week), (SELECT last_ FROM range_sales_week), INTERVAL 7 DAY)) AS DATE) AS period_) AS p
),
-- values: sales on every period of the spine (no rows: counts and sums 0, ratios NULL)
values_1 AS (
  SELECT
    sp.period_,
    (CASE WHEN COALESCE(s."sales__2", 0) = 0 THEN 0 ELSE s."sales__1" END) AS "sales"
  FROM spine_1 AS sp
  LEFT JOIN scan_1 AS s ON s.period_ = sp.period_
),
-- kpi: sales_last_year (metrics/sales.yml:6)
derived_sales_last_year AS (
  SELECT
    k.period_,
    j1."sales" AS value_
  FROM values_1 AS k
  LEFT JOIN values_1 AS j1 ON j1.period_ = CASE WHEN date_diff('day', CAST(date_trunc('week', make_date(year(k.period_ + INTERVAL 3 DAY), 1, 4)) AS DATE), k.period_) < date_diff('day', CAST(date_trunc('week', make_date(year(k.period_ + INTERVAL 3 DAY) - 1, 1, 4)) AS DATE), CAST(date_trunc('week', make_date(year(k.period_ + INTERVAL 3 DAY) - 0, 1, 4)) AS DATE)) THEN CAST(CAST(date_trunc('week', make_date(year(k.period_ + INTERVAL 3 DAY) - 1, 1, 4)) AS DATE) + date_diff('day', CAST(date_trunc('week', make_date(year(k.period_ + INTERVAL 3 DAY), 1, 4)) AS DATE), k.period_) * INTERVAL 1 DAY AS DATE) END
)
SELECT 'sales_last_year' AS kpi, period_ AS period, CAST("value_" AS DOUBLE) AS value FROM derived_sales_last_year
ORDER BY 1, 2
