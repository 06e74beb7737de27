-- kpictl: revenue_ytd, regions_ytd
WITH
-- scan: orders by month: every aggregate below in one pass
-- kpi: revenue (metrics/sales.yml:2)
-- kpi: regions (metrics/sales.yml:8)
scan_1 AS MATERIALIZED (
  SELECT
    CAST(date_trunc('month', CAST("orders"."order_date" AS DATE)) AS DATE) AS period_,
    SUM("orders"."amount") AS "revenue__1",
    COUNT(*) AS "revenue__2",
    COUNT(DISTINCT "orders"."region") AS "regions__1"
  FROM "orders"
  WHERE "orders"."order_date" IS NOT NULL
  GROUP BY 1
),
-- range: the first and last month with rows in scan_1 (the spine spans them whatever --from/--to)
range_orders_month AS (
  SELECT min(period_) AS first_, max(period_) AS last_
  FROM (
    SELECT period_ FROM scan_1
  ) AS p
),
-- spine: every month of the range
spine_1 AS (
  SELECT p.period_
  FROM (SELECT CAST(unnest(generate_series((SELECT first_ FROM range_orders_month), (SELECT last_ FROM range_orders_month), INTERVAL 1 MONTH)) AS DATE) AS period_) AS p
),
-- window: year_to_date of regions, recomputed from the rows of each window (these do not add up)
window_1_year_to_date AS (
  SELECT
    sp.period_,
    COUNT(DISTINCT "orders"."region") AS "regions__1"
  FROM "orders"
  JOIN spine_1 AS sp
    ON CAST(date_trunc('month', CAST("orders"."order_date" AS DATE)) AS DATE) BETWEEN CAST((date_trunc('year', sp.period_ - INTERVAL 3 MONTH) + INTERVAL 3 MONTH) AS DATE) AND sp.period_
  WHERE "orders"."order_date" IS NOT NULL
  GROUP BY 1
),
-- values: revenue, regions on every period of the spine (no rows: counts and sums 0, ratios NULL)
values_1 AS (
  SELECT
    sp.period_,
    (CASE WHEN COALESCE(s."revenue__2", 0) = 0 THEN 0 ELSE s."revenue__1" END) AS "revenue",
    (CASE WHEN SUM(COALESCE(s."revenue__2", 0)) OVER (PARTITION BY (DATE_TRUNC('YEAR', sp.period_ - INTERVAL '3' MONTH) + INTERVAL '3' MONTH) ORDER BY sp.period_ ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) = 0 THEN 0 ELSE SUM(s."revenue__1") OVER (PARTITION BY (DATE_TRUNC('YEAR', sp.period_ - INTERVAL '3' MONTH) + INTERVAL '3' MONTH) ORDER BY sp.period_ ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) END) AS "revenue__year_to_date",
    COALESCE(s."regions__1", 0) AS "regions",
    COALESCE(w1."regions__1", 0) AS "regions__year_to_date"
  FROM spine_1 AS sp
  LEFT JOIN scan_1 AS s ON s.period_ = sp.period_
  LEFT JOIN window_1_year_to_date AS w1 ON w1.period_ = sp.period_
),
-- kpi: revenue_ytd (metrics/sales.yml:9)
derived_revenue_ytd AS (
  SELECT
    k.period_,
    k."revenue__year_to_date" AS value_
  FROM values_1 AS k
),
-- kpi: regions_ytd (metrics/sales.yml:10)
derived_regions_ytd AS (
  SELECT
    k.period_,
    k."regions__year_to_date" AS value_
  FROM values_1 AS k
)
SELECT 'revenue_ytd' AS kpi, period_ AS period, CAST("value_" AS DOUBLE) AS value FROM derived_revenue_ytd
UNION ALL
SELECT 'regions_ytd' AS kpi, period_ AS period, CAST("value_" AS DOUBLE) AS value FROM derived_regions_ytd
ORDER BY 1, 2
