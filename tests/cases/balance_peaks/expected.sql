-- kpictl: peak_stock, low_stock by region
WITH
-- balance: per item, its last row of each day (the time it was taken)
kept_1 AS (
  SELECT "stock"."item" AS e1_, CAST("stock"."t" AS DATE) AS p_, max("stock"."t") AS t_
  FROM "stock"
  WHERE "stock"."t" IS NOT NULL
  GROUP BY 1, 2
),
-- scan: stock by day, region: every aggregate below in one pass
-- kpi: peak_stock (metrics/stock.yml:3)
-- kpi: low_stock (metrics/stock.yml:4)
daily_1 AS (
  SELECT
    CAST("stock"."t" AS DATE) AS period_,
    "stock"."region" AS "region_",
    SUM("stock"."qty") AS "peak_stock__1",
    COUNT(*) AS "peak_stock__2"
  FROM "stock"
  JOIN kept_1 AS kept_ ON kept_.p_ = CAST("stock"."t" AS DATE) AND kept_.t_ = "stock"."t" AND kept_.e1_ IS NOT DISTINCT FROM "stock"."item"
  WHERE "stock"."t" IS NOT NULL
  GROUP BY 1, 2
),
-- peaks: daily_1 by month, region: each balance's lowest (min) or highest (max) day value (days without rows are not in it)
-- kpi: peak_stock (metrics/stock.yml:3)
-- kpi: low_stock (metrics/stock.yml:4)
scan_1 AS MATERIALIZED (
  SELECT
    CAST(date_trunc('month', CAST(period_ AS DATE)) AS DATE) AS period_,
    "region_",
    COUNT(*) AS "peak_stock__days",
    MAX((CASE WHEN "peak_stock__2" = 0 THEN 0 ELSE "peak_stock__1" END)) AS "peak_stock__max",
    MIN((CASE WHEN "peak_stock__2" = 0 THEN 0 ELSE "peak_stock__1" END)) AS "low_stock__min"
  FROM daily_1
  GROUP BY 1, 2
),
-- range: the first and last month with rows in scan_1 (the spine spans them whatever --from/--to)
range_stock_month AS (
  SELECT min(period_) AS first_, max(period_) AS last_
  FROM (
    SELECT period_ FROM scan_1
  ) AS p
),
-- spine: every month of the range, by every region seen in scan_1
spine_1 AS (
  SELECT p.period_, c."region_"
  FROM (SELECT CAST(unnest(generate_series((SELECT first_ FROM range_stock_month), (SELECT last_ FROM range_stock_month), INTERVAL 1 MONTH)) AS DATE) AS period_) AS p
  CROSS JOIN (SELECT DISTINCT "region_" FROM scan_1) AS c
),
-- values: peak_stock, low_stock on every period of the spine (no rows: counts and sums 0, ratios NULL)
values_1 AS (
  SELECT
    sp.period_, sp."region_",
    (CASE WHEN COALESCE(s."peak_stock__days", 0) = 0 THEN 0 ELSE s."peak_stock__max" END) AS "peak_stock",
    (CASE WHEN COALESCE(s."peak_stock__days", 0) = 0 THEN 0 ELSE s."low_stock__min" END) AS "low_stock"
  FROM spine_1 AS sp
  LEFT JOIN scan_1 AS s ON s.period_ = sp.period_ AND s."region_" IS NOT DISTINCT FROM sp."region_"
)
SELECT 'peak_stock' AS kpi, period_ AS period, "region_" AS "region", CAST("peak_stock" AS DOUBLE) AS value FROM values_1
UNION ALL
SELECT 'low_stock' AS kpi, period_ AS period, "region_" AS "region", CAST("low_stock" AS DOUBLE) AS value FROM values_1
ORDER BY 1, 2, 3
