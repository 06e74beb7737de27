-- kpictl: sized_orders by size
WITH
-- scan: orders by quarter, size: every aggregate below in one pass
-- kpi: sized_orders (metrics/kpis.yml:3)
scan_1 AS MATERIALIZED (
  SELECT
    CAST(date_trunc('quarter', CAST("orders"."order_date" AS DATE)) AS DATE) AS period_,
    CASE WHEN "orders"."amount" >= 50 THEN 'large' ELSE 'small' END AS "size_",
    COUNT(*) AS "sized_orders__1"
  FROM "orders"
  WHERE "orders"."order_date" IS NOT NULL
    AND (NOT "orders"."channel" IS NULL)
  GROUP BY 1, 2
),
-- range: the first and last quarter with rows in scan_1 (the spine spans them whatever --from/--to)
range_orders_quarter AS (
  SELECT min(period_) AS first_, max(period_) AS last_
  FROM (
    SELECT period_ FROM scan_1
  ) AS p
),
-- spine: every quarter of the range, by every size seen in scan_1
spine_1 AS (
  SELECT p.period_, c."size_"
  FROM (SELECT CAST(unnest(generate_series((SELECT first_ FROM range_orders_quarter), (SELECT last_ FROM range_orders_quarter), INTERVAL 3 MONTH)) AS DATE) AS period_) AS p
  CROSS JOIN (SELECT DISTINCT "size_" FROM scan_1) AS c
),
-- values: sized_orders on every period of the spine (no rows: counts and sums 0, ratios NULL)
values_1 AS (
  SELECT
    sp.period_, sp."size_",
    COALESCE(s."sized_orders__1", 0) AS "sized_orders"
  FROM spine_1 AS sp
  LEFT JOIN scan_1 AS s ON s.period_ = sp.period_ AND s."size_" IS NOT DISTINCT FROM sp."size_"
)
SELECT 'sized_orders' AS kpi, period_ AS period, "size_" AS "size", CAST("sized_orders" AS DOUBLE) AS value FROM values_1
ORDER BY 1, 2, 3
