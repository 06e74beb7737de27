-- kpictl: growth, sales_3_full, ticket_avg_3, ticket_avg_3_full
WITH
-- scan: sales by month: every aggregate below in one pass
-- kpi: sales (metrics/sales.yml:2)
-- kpi: ticket (metrics/sales.yml:3)
scan_1 AS MATERIALIZED (
  SELECT
    CAST(date_trunc('month', CAST("sales"."d" AS DATE)) AS DATE) AS period_,
    SUM("sales"."amount") AS "sales__1",
    COUNT(*) AS "sales__2"
  FROM "sales"
  WHERE "sales"."d" IS NOT NULL
  GROUP BY 1
),
-- range: the first and last month with rows in scan_1 (the spine spans them whatever --from/--to)
range_sales_month AS (
  SELECT min(period_) AS first_, max(period_) AS last_
  FROM (
    SELECT period_ FROM scan_1
  ) AS p
),
-- spine: every month of the range
spine_1 AS (
  SELECT p.period_
  FROM (SELECT CAST(unnest(generate_series((SELECT first_ FROM range_sales_month), (SELECT last_ FROM range_sales_month), INTERVAL 1 MONTH)) AS DATE) AS period_) AS p
),
-- values: sales, ticket on every period of the spine (no rows: counts and sums 0, ratios NULL)
values_1 AS (
  SELECT
    sp.period_,
    (CASE WHEN COALESCE(s."sales__2", 0) = 0 THEN 0 ELSE s."sales__1" END) AS "sales",
    CASE WHEN count(*) OVER (ORDER BY sp.period_ ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) = 3 THEN (CASE WHEN SUM(COALESCE(s."sales__2", 0)) OVER (ORDER BY sp.period_ ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) = 0 THEN 0 ELSE SUM(s."sales__1") OVER (ORDER BY sp.period_ ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) END) END AS "sales__rolling_3_full",
    (CASE WHEN COALESCE(s."sales__2", 0) = 0 THEN 0 ELSE s."sales__1" END) / NULLIF(COALESCE(s."sales__2", 0), 0) AS "ticket"
  FROM spine_1 AS sp
  LEFT JOIN scan_1 AS s ON s.period_ = sp.period_
),
-- kpi: growth (metrics/sales.yml:7)
derived_growth AS (
  SELECT
    k.period_,
    k."sales" / NULLIF(j1."sales", 0) - 1 AS value_
  FROM values_1 AS k
  LEFT JOIN values_1 AS j1 ON j1.period_ = CAST(k.period_ - INTERVAL 12 MONTH AS DATE)
),
-- kpi: sales_3_full (metrics/sales.yml:13)
derived_sales_3_full AS (
  SELECT
    k.period_,
    k."sales__rolling_3_full" AS value_
  FROM values_1 AS k
),
-- rolling_avg_3 of ticket: the mean of its values over the window
avg_1 AS (
  SELECT a.period_, avg(a."ticket") OVER (ORDER BY a.period_ ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS value_
  FROM values_1 AS a
),
-- kpi: ticket_avg_3 (metrics/sales.yml:15)
derived_ticket_avg_3 AS (
  SELECT
    k.period_,
    k."value_" AS value_
  FROM avg_1 AS k
),
-- rolling_avg_3_full of ticket: the mean of its values over the window
avg_2 AS (
  SELECT a.period_, CASE WHEN count(*) OVER (ORDER BY a.period_ ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) = 3 THEN avg(a."ticket") OVER (ORDER BY a.period_ ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) END AS value_
  FROM values_1 AS a
),
-- kpi: ticket_avg_3_full (metrics/sales.yml:16)
derived_ticket_avg_3_full AS (
  SELECT
    k.period_,
    k."value_" AS value_
  FROM avg_2 AS k
)
SELECT 'growth' AS kpi, period_ AS period, CAST("value_" AS DOUBLE) AS value FROM derived_growth
UNION ALL
SELECT 'sales_3_full' AS kpi, period_ AS period, CAST("value_" AS DOUBLE) AS value FROM derived_sales_3_full
UNION ALL
SELECT 'ticket_avg_3' AS kpi, period_ AS period, CAST("value_" AS DOUBLE) AS value FROM derived_ticket_avg_3
UNION ALL
SELECT 'ticket_avg_3_full' AS kpi, period_ AS period, CAST("value_" AS DOUBLE) AS value FROM derived_ticket_avg_3_full
ORDER BY 1, 2
