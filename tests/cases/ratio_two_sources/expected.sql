-- kpictl: cost_to_revenue by region
WITH
-- scan: shipments by month, region: every aggregate below in one pass
-- kpi: cost (metrics/kpis.yml:4)
scan_1 AS MATERIALIZED (
  SELECT
    CAST(date_trunc('month', CAST("shipments"."ship_date" AS DATE)) AS DATE) AS period_,
    "shipments"."region" AS "region_",
    SUM("shipments"."cost") AS "cost__1",
    COUNT(*) AS "cost__2"
  FROM "shipments"
  WHERE "shipments"."ship_date" IS NOT NULL
  GROUP BY 1, 2
),
-- scan: orders by month, region: every aggregate below in one pass
-- kpi: revenue (metrics/kpis.yml:7)
scan_2 AS MATERIALIZED (
  SELECT
    CAST(date_trunc('month', CAST("orders"."order_date" AS DATE)) AS DATE) AS period_,
    "customers"."region" AS "region_",
    SUM("orders"."amount") FILTER(WHERE "orders"."status" = 'paid') AS "revenue__1",
    COUNT(*) FILTER(WHERE "orders"."status" = 'paid') AS "revenue__2"
  FROM "orders"
  LEFT JOIN "customers" ON "customers"."customer_id" = "orders"."customer_id"
  WHERE "orders"."order_date" IS NOT NULL
  GROUP BY 1, 2
),
-- range: the first and last month with rows in scan_1 (the spine spans them whatever --from/--to)
range_shipments_month AS (
  SELECT min(period_) AS first_, max(period_) AS last_
  FROM (
    SELECT period_ FROM scan_1
  ) AS p
),
-- range: the first and last month with rows in scan_2 (the spine spans them whatever --from/--to)
range_orders_month AS (
  SELECT min(period_) AS first_, max(period_) AS last_
  FROM (
    SELECT period_ FROM scan_2
  ) AS p
),
-- spine: every month of the range, by every region seen in scan_1
spine_1 AS (
  SELECT p.period_, c."region_"
  FROM (SELECT CAST(unnest(generate_series((SELECT first_ FROM range_shipments_month), (SELECT last_ FROM range_shipments_month), INTERVAL 1 MONTH)) AS DATE) AS period_) AS p
  CROSS JOIN (SELECT DISTINCT "region_" FROM scan_1) AS c
),
-- values: cost on every period of the spine (no rows: counts and sums 0, ratios NULL)
values_1 AS (
  SELECT
    sp.period_, sp."region_",
    (CASE WHEN COALESCE(s."cost__2", 0) = 0 THEN 0 ELSE s."cost__1" END) AS "cost"
  FROM spine_1 AS sp
  LEFT JOIN scan_1 AS s ON s.period_ = sp.period_ AND s."region_" IS NOT DISTINCT FROM sp."region_"
),
-- spine: every month of the range, by every region seen in scan_2
spine_2 AS (
  SELECT p.period_, c."region_"
  FROM (SELECT CAST(unnest(generate_series((SELECT first_ FROM range_orders_month), (SELECT last_ FROM range_orders_month), INTERVAL 1 MONTH)) AS DATE) AS period_) AS p
  CROSS JOIN (SELECT DISTINCT "region_" FROM scan_2) AS c
),
-- values: revenue on every period of the spine (no rows: counts and sums 0, ratios NULL)
values_2 AS (
  SELECT
    sp.period_, sp."region_",
    (CASE WHEN COALESCE(s."revenue__2", 0) = 0 THEN 0 ELSE s."revenue__1" END) AS "revenue"
  FROM spine_2 AS sp
  LEFT JOIN scan_2 AS s ON s.period_ = sp.period_ AND s."region_" IS NOT DISTINCT FROM sp."region_"
),
-- kpi: cost_to_revenue (metrics/kpis.yml:11)
derived_cost_to_revenue AS (
  SELECT
    k.period_, k."region_",
    CASE WHEN j1.period_ IS NULL THEN 0 ELSE j1."cost" END / NULLIF(CASE WHEN j2.period_ IS NULL THEN 0 ELSE j2."revenue" END, 0) AS value_
  FROM (
    SELECT period_, "region_" FROM values_1
    UNION SELECT period_, "region_" FROM values_2
  ) AS k
  LEFT JOIN values_1 AS j1 ON j1.period_ = k.period_ AND j1."region_" IS NOT DISTINCT FROM k."region_"
  LEFT JOIN values_2 AS j2 ON j2.period_ = k.period_ AND j2."region_" IS NOT DISTINCT FROM k."region_"
)
SELECT 'cost_to_revenue' AS kpi, period_ AS period, "region_" AS "region", CAST("value_" AS DOUBLE) AS value FROM derived_cost_to_revenue
ORDER BY 1, 2, 3
