-- kpictl: balance, opening by region
WITH
-- balance: per account, its last row of each month (the time it was taken)
kept_1 AS (
  SELECT "balances"."account" AS e1_, CAST(date_trunc('month', CAST("balances"."d" AS DATE)) AS DATE) AS p_, max("balances"."d") AS t_
  FROM "balances"
  WHERE "balances"."d" IS NOT NULL
  GROUP BY 1, 2
),
-- scan: balances by month, region: every aggregate below in one pass
-- kpi: balance (metrics/balances.yml:2)
scan_1 AS MATERIALIZED (
  SELECT
    CAST(date_trunc('month', CAST("balances"."d" AS DATE)) AS DATE) AS period_,
    "balances"."region" AS "region_",
    SUM("balances"."balance") AS "balance__1",
    COUNT(*) AS "balance__2"
  FROM "balances"
  JOIN kept_1 AS kept_ ON kept_.p_ = CAST(date_trunc('month', CAST("balances"."d" AS DATE)) AS DATE) AND kept_.t_ = "balances"."d" AND kept_.e1_ IS NOT DISTINCT FROM "balances"."account"
  WHERE "balances"."d" IS NOT NULL
  GROUP BY 1, 2
),
-- balance: per account, its first row of each month (the time it was taken)
kept_2 AS (
  SELECT "balances"."account" AS e1_, CAST(date_trunc('month', CAST("balances"."d" AS DATE)) AS DATE) AS p_, min("balances"."d") AS t_
  FROM "balances"
  WHERE "balances"."d" IS NOT NULL
  GROUP BY 1, 2
),
-- scan: balances by month, region: every aggregate below in one pass
-- kpi: opening (metrics/balances.yml:3)
scan_2 AS MATERIALIZED (
  SELECT
    CAST(date_trunc('month', CAST("balances"."d" AS DATE)) AS DATE) AS period_,
    "balances"."region" AS "region_",
    SUM("balances"."balance") AS "opening__1",
    COUNT(*) AS "opening__2"
  FROM "balances"
  JOIN kept_2 AS kept_ ON kept_.p_ = CAST(date_trunc('month', CAST("balances"."d" AS DATE)) AS DATE) AND kept_.t_ = "balances"."d" AND kept_.e1_ IS NOT DISTINCT FROM "balances"."account"
  WHERE "balances"."d" IS NOT NULL
  GROUP BY 1, 2
),
-- range: the first and last month with rows in scan_1, scan_2 (the spine spans them whatever --from/--to)
range_balances_month AS (
  SELECT min(period_) AS first_, max(period_) AS last_
  FROM (
    SELECT period_ FROM scan_1
    UNION ALL SELECT period_ FROM scan_2
  ) AS p
),
-- spine: every month of the range, by every region seen in scan_1
spine_1 AS (
  SELECT p.period_, c."region_"
  FROM (SELECT CAST(unnest(generate_series((SELECT first_ FROM range_balances_month), (SELECT last_ FROM range_balances_month), INTERVAL 1 MONTH)) AS DATE) AS period_) AS p
  CROSS JOIN (SELECT DISTINCT "region_" FROM scan_1) AS c
),
-- values: balance on every period of the spine (no rows: counts and sums 0, ratios NULL)
values_1 AS (
  SELECT
    sp.period_, sp."region_",
    (CASE WHEN COALESCE(s."balance__2", 0) = 0 THEN 0 ELSE s."balance__1" END) AS "balance"
  FROM spine_1 AS sp
  LEFT JOIN scan_1 AS s ON s.period_ = sp.period_ AND s."region_" IS NOT DISTINCT FROM sp."region_"
),
-- spine: every month of the range, by every region seen in scan_2
spine_2 AS (
  SELECT p.period_, c."region_"
  FROM (SELECT CAST(unnest(generate_series((SELECT first_ FROM range_balances_month), (SELECT last_ FROM range_balances_month), INTERVAL 1 MONTH)) AS DATE) AS period_) AS p
  CROSS JOIN (SELECT DISTINCT "region_" FROM scan_2) AS c
),
-- values: opening on every period of the spine (no rows: counts and sums 0, ratios NULL)
values_2 AS (
  SELECT
    sp.period_, sp."region_",
    (CASE WHEN COALESCE(s."opening__2", 0) = 0 THEN 0 ELSE s."opening__1" END) AS "opening"
  FROM spine_2 AS sp
  LEFT JOIN scan_2 AS s ON s.period_ = sp.period_ AND s."region_" IS NOT DISTINCT FROM sp."region_"
)
SELECT 'balance' AS kpi, period_ AS period, "region_" AS "region", CAST("balance" AS DOUBLE) AS value FROM values_1
UNION ALL
SELECT 'opening' AS kpi, period_ AS period, "region_" AS "region", CAST("opening" AS DOUBLE) AS value FROM values_2
ORDER BY 1, 2, 3
