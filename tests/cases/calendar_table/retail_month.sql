-- kpictl: revenue_2, regions_2, revenue_before by region
WITH
-- calendar: each date of retail_calendar in its retail_month period (retail_month), a period named by its first date
calendar_retail_month AS (
  SELECT CAST(c."day" AS DATE) AS calendar_day_, min(CAST(c."day" AS DATE)) OVER (PARTITION BY c."retail_month") AS calendar_start_
  FROM "retail_calendar" AS c
  WHERE c."day" IS NOT NULL
),
-- calendar: the retail_month periods in order (index_ counts them, for prior() and rolling windows)
calendar_periods_retail_month AS (
  SELECT period_, row_number() OVER (ORDER BY period_) AS index_
  FROM (SELECT DISTINCT calendar_start_ AS period_ FROM calendar_retail_month) AS p
),
-- scan: orders by retail_month, region: every aggregate below in one pass
-- kpi: revenue (metrics/sales.yml:2)
-- kpi: regions (metrics/sales.yml:8)
scan_1 AS MATERIALIZED (
  SELECT
    (SELECT max(c_.calendar_start_) FROM calendar_retail_month AS c_ WHERE c_.calendar_day_ = CAST("orders"."order_date" AS DATE)) AS period_,
    "orders"."region" AS "region_",
    SUM("orders"."amount") AS "revenue__1",
    COUNT(*) AS "revenue__2",
    COUNT(DISTINCT "orders"."region") AS "regions__1"
  FROM "orders"
  WHERE "orders"."order_date" IS NOT NULL
  GROUP BY 1, 2
),
-- range: the first and last retail_month with rows in scan_1 (the spine spans them whatever --from/--to)
range_orders_retail_month AS (
  SELECT min(period_) AS first_, max(period_) AS last_
  FROM (
    SELECT period_ FROM scan_1
  ) AS p
),
-- spine: every retail_month of the range, by every region seen in scan_1
spine_1 AS (
  SELECT p.period_, c."region_"
  FROM (SELECT period_ FROM calendar_periods_retail_month WHERE period_ BETWEEN (SELECT first_ FROM range_orders_retail_month) AND (SELECT last_ FROM range_orders_retail_month)) AS p
  CROSS JOIN (SELECT DISTINCT "region_" FROM scan_1) AS c
),
-- window: rolling_2 of regions, recomputed from the rows of each window (these do not add up)
window_1_rolling_2 AS (
  SELECT
    sp.period_, sp."region_",
    COUNT(DISTINCT "orders"."region") AS "regions__1"
  FROM "orders"
  JOIN spine_1 AS sp
    ON (SELECT max(c_.calendar_start_) FROM calendar_retail_month AS c_ WHERE c_.calendar_day_ = CAST("orders"."order_date" AS DATE)) BETWEEN (SELECT min(b_.period_) FROM calendar_periods_retail_month AS a_ JOIN calendar_periods_retail_month AS b_ ON b_.index_ BETWEEN a_.index_ - 1 AND a_.index_ WHERE a_.period_ = sp.period_) AND sp.period_
   AND "orders"."region" IS NOT DISTINCT FROM sp."region_"
  WHERE "orders"."order_date" IS NOT NULL
  GROUP BY 1, 2
),
-- values: revenue, regions on every period of the spine (no rows: counts and sums 0, ratios NULL)
values_1 AS (
  SELECT
    sp.period_, sp."region_",
    (CASE WHEN COALESCE(s."revenue__2", 0) = 0 THEN 0 ELSE s."revenue__1" END) AS "revenue",
    (CASE WHEN SUM(COALESCE(s."revenue__2", 0)) OVER (PARTITION BY sp."region_" ORDER BY sp.period_ ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) = 0 THEN 0 ELSE SUM(s."revenue__1") OVER (PARTITION BY sp."region_" ORDER BY sp.period_ ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) END) AS "revenue__rolling_2",
    COALESCE(s."regions__1", 0) AS "regions",
    COALESCE(w1."regions__1", 0) AS "regions__rolling_2"
  FROM spine_1 AS sp
  LEFT JOIN scan_1 AS s ON s.period_ = sp.period_ AND s."region_" IS NOT DISTINCT FROM sp."region_"
  LEFT JOIN window_1_rolling_2 AS w1 ON w1.period_ = sp.period_ AND w1."region_" IS NOT DISTINCT FROM sp."region_"
),
-- kpi: revenue_2 (metrics/sales.yml:9)
derived_revenue_2 AS (
  SELECT
    k.period_, k."region_",
    k."revenue__rolling_2" AS value_
  FROM values_1 AS k
),
-- kpi: regions_2 (metrics/sales.yml:10)
derived_regions_2 AS (
  SELECT
    k.period_, k."region_",
    k."regions__rolling_2" AS value_
  FROM values_1 AS k
),
-- kpi: revenue_before (metrics/sales.yml:11)
derived_revenue_before AS (
  SELECT
    k.period_, k."region_",
    j1."revenue" AS value_
  FROM values_1 AS k
  LEFT JOIN values_1 AS j1 ON j1.period_ = (SELECT b_.period_ FROM calendar_periods_retail_month AS a_ JOIN calendar_periods_retail_month AS b_ ON b_.index_ = a_.index_ - 1 WHERE a_.period_ = k.period_) AND j1."region_" IS NOT DISTINCT FROM k."region_"
)
SELECT 'revenue_2' AS kpi, period_ AS period, "region_" AS "region", CAST("value_" AS DOUBLE) AS value FROM derived_revenue_2 WHERE period_ >= $from_retail_month AND period_ <= $to_retail_month
UNION ALL
SELECT 'regions_2' AS kpi, period_ AS period, "region_" AS "region", CAST("value_" AS DOUBLE) AS value FROM derived_regions_2 WHERE period_ >= $from_retail_month AND period_ <= $to_retail_month
UNION ALL
SELECT 'revenue_before' AS kpi, period_ AS period, "region_" AS "region", CAST("value_" AS DOUBLE) AS value FROM derived_revenue_before WHERE period_ >= $from_retail_month AND period_ <= $to_retail_month
ORDER BY 1, 2, 3
