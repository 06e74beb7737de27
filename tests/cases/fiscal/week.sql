-- kpictl: regions_ytd
WITH
-- scan: orders by week: every aggregate below in one pass
-- kpi: regions (metrics/sales.yml:8)
scan_1 AS MATERIALIZED (
  SELECT
    CAST(date_trunc('week', CAST("orders"."order_date" AS DATE)) AS DATE) AS period_,
    COUNT(DISTINCT "orders"."region") AS "regions__1"
  FROM "orders"
  WHERE "orders"."order_date" IS NOT NULL
  GROUP BY 1
),
-- range: the first and last week with rows in scan_1 (the spine spans them whatever --from/--to)
range_orders_week AS (
  SELECT min(period_) AS first_, max(period_) AS last_
  FROM (
    SELECT period_ FROM scan_1
  ) AS p
),
-- spine: every week of the range
spine_1 AS (
  SELECT p.period_
  FROM (SELECT CAST(unnest(generate_series((SELECT first_ FROM range_orders_week), (SELECT last_ FROM range_orders_week), INTERVAL 7 DAY)) AS DATE) AS period_) AS p
),
-- window: year_to_date of regions, recomputed from the rows of each window (these do not add up)
window_1_year_to_date AS (
  SELECT
    sp.period_,
    COUNT(DISTINCT "orders"."region") AS "regions__1"
  FROM "orders"
  JOIN spine_1 AS sp
    ON CAST(date_trunc('week', CAST("orders"."order_date" AS DATE)) AS DATE) BETWEEN CAST(date_trunc('week', (date_trunc('year', sp.period_ + INTERVAL 3 DAY - INTERVAL 3 MONTH) + INTERVAL 3 MONTH) + INTERVAL 3 DAY) AS DATE) AND sp.period_
  WHERE "orders"."order_date" IS NOT NULL
  GROUP BY 1
),
-- values: regions on every period of the spine (no rows: counts and sums 0, ratios NULL)
values_1 AS (
  SELECT
    sp.period_,
    COALESCE(s."regions__1", 0) AS "regions",
    COALESCE(w1."regions__1", 0) AS "regions__year_to_date"
  FROM spine_1 AS sp
  LEFT JOIN scan_1 AS s ON s.period_ = sp.period_
  LEFT JOIN window_1_year_to_date AS w1 ON w1.period_ = sp.period_
),
-- kpi: regions_ytd (metrics/sales.yml:10)
derived_regions_ytd AS (
  SELECT
    k.period_,
    k."regions__year_to_date" AS value_
  FROM values_1 AS k
)
SELECT 'regions_ytd' AS kpi, period_ AS period, CAST("value_" AS DOUBLE) AS value FROM derived_regions_ytd
ORDER BY 1, 2
