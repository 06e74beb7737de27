-- kpictl: revenue, orders_n, aov, paid_share by region
WITH
-- scan: orders by month, region: every aggregate below in one pass
-- kpi: revenue (metrics/kpis.yml:4)
-- kpi: orders_n (metrics/kpis.yml:8)
-- kpi: aov (metrics/kpis.yml:11)
-- kpi: paid_share (metrics/kpis.yml:14)
scan_1 AS MATERIALIZED (
  SELECT
    CAST(date_trunc('month', CAST("orders"."order_date" AS DATE)) AS DATE) AS period_,
    "customers"."region" AS "region_",
    SUM("orders"."amount") FILTER(WHERE "orders"."status" = 'paid') AS "revenue__1",
    COUNT(*) FILTER(WHERE "orders"."status" = 'paid') AS "revenue__2",
    COUNT(*) AS "orders_n__1",
    SUM("orders"."amount") AS "aov__1",
    COUNT("orders"."amount") AS "aov__2"
  FROM "orders"
  LEFT JOIN "customers" ON "customers"."customer_id" = "orders"."customer_id"
  WHERE "orders"."order_date" IS NOT NULL
  GROUP BY 1, 2
),
-- range: the first and last month with rows in scan_1 (the spine spans them whatever --from/--to)
range_orders_month AS (
  SELECT min(period_) AS first_, max(period_) AS last_
  FROM (
    SELECT period_ FROM scan_1
  ) AS p
),
-- spine: every month of the range, by every region seen in scan_1
spine_1 AS (
  SELECT p.period_, c."region_"
  FROM (SELECT CAST(unnest(generate_series((SELECT first_ FROM range_orders_month), (SELECT last_ FROM range_orders_month), INTERVAL 1 MONTH)) AS DATE) AS period_) AS p
  CROSS JOIN (SELECT DISTINCT "region_" FROM scan_1) AS c
),
-- values: revenue, orders_n, aov, paid_share on every period of the spine (no rows: counts and sums 0, ratios NULL)
values_1 AS (
  SELECT
    sp.period_, sp."region_",
    (CASE WHEN COALESCE(s."revenue__2", 0) = 0 THEN 0 ELSE s."revenue__1" END) AS "revenue",
    COALESCE(s."orders_n__1", 0) AS "orders_n",
    (COALESCE(s."aov__1", 0) / NULLIF(COALESCE(s."aov__2", 0), 0)) AS "aov",
    COALESCE(s."revenue__2", 0) / NULLIF(COALESCE(s."orders_n__1", 0), 0) AS "paid_share"
  FROM spine_1 AS sp
  LEFT JOIN scan_1 AS s ON s.period_ = sp.period_ AND s."region_" IS NOT DISTINCT FROM sp."region_"
)
SELECT 'revenue' AS kpi, period_ AS period, "region_" AS "region", CAST("revenue" AS DOUBLE) AS value FROM values_1
UNION ALL
SELECT 'orders_n' AS kpi, period_ AS period, "region_" AS "region", CAST("orders_n" AS DOUBLE) AS value FROM values_1
UNION ALL
SELECT 'aov' AS kpi, period_ AS period, "region_" AS "region", CAST("aov" AS DOUBLE) AS value FROM values_1
UNION ALL
SELECT 'paid_share' AS kpi, period_ AS period, "region_" AS "region", CAST("paid_share" AS DOUBLE) AS value FROM values_1
ORDER BY 1, 2, 3
