-- kpictl: revenue by region
WITH
-- scan: orders by year, region: every aggregate below in one pass
-- kpi: revenue (metrics/sales.yml:2)
scan_1 AS MATERIALIZED (
  SELECT
    CAST(date_trunc('year', CAST("orders"."order_date" AS DATE) - INTERVAL 3 MONTH) + INTERVAL 3 MONTH AS DATE) AS period_,
    "orders"."region" AS "region_",
    SUM("orders"."amount") AS "revenue__1",
    COUNT(*) AS "revenue__2"
  FROM "orders"
  WHERE "orders"."order_date" IS NOT NULL
  GROUP BY 1, 2
),
-- range: the first and last year with rows in scan_1 (the spine spans them whatever --from/--to)
range_orders_year AS (
  SELECT min(period_) AS first_, max(period_) AS last_
  FROM (
    SELECT period_ FROM scan_1
  ) AS p
),
-- spine: every year of the range, by every region seen in scan_1
spine_1 AS (
  SELECT p.period_, c."region_"
  FROM (SELECT CAST(unnest(generate_series((SELECT first_ FROM range_orders_year), (SELECT last_ FROM range_orders_year), INTERVAL 1 YEAR)) AS DATE) AS period_) AS p
  CROSS JOIN (SELECT DISTINCT "region_" FROM scan_1) AS c
),
-- values: revenue on every period of the spine (no rows: counts and sums 0, ratios NULL)
values_1 AS (
  SELECT
    sp.period_, sp."region_",
    (CASE WHEN COALESCE(s."revenue__2", 0) = 0 THEN 0 ELSE s."revenue__1" END) AS "revenue"
  FROM spine_1 AS sp
  LEFT JOIN scan_1 AS s ON s.period_ = sp.period_ AND s."region_" IS NOT DISTINCT FROM sp."region_"
)
SELECT 'revenue' AS kpi, period_ AS period, "region_" AS "region", CAST("revenue" AS DOUBLE) AS value FROM values_1 WHERE period_ >= $from_year
ORDER BY 1, 2, 3
