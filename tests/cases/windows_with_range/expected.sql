-- kpictl: paid_share_rolling_3, paid_share_ytd, customers_cumulative, customers_rolling_3, customers_change
WITH
-- scan: orders by month: every aggregate below in one pass
-- kpi: paid_share (metrics/kpis.yml:5)
-- kpi: customers_n (metrics/kpis.yml:8)
scan_1 AS MATERIALIZED (
  SELECT
    CAST(date_trunc('month', CAST("orders"."order_date" AS DATE)) AS DATE) AS period_,
    COUNT(*) FILTER(WHERE "orders"."status" = 'paid') AS "paid_share__1",
    COUNT(*) AS "paid_share__2",
    COUNT(DISTINCT "orders"."customer_id") AS "customers_n__1"
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
-- window: rolling_3 of customers_n, recomputed from the rows of each window (these do not add up)
window_1_rolling_3 AS (
  SELECT
    sp.period_,
    COUNT(DISTINCT "orders"."customer_id") AS "customers_n__1"
  FROM "orders"
  JOIN spine_1 AS sp
    ON CAST(date_trunc('month', CAST("orders"."order_date" AS DATE)) AS DATE) BETWEEN CAST(sp.period_ - INTERVAL 2 MONTH AS DATE) AND sp.period_
  WHERE "orders"."order_date" IS NOT NULL
  GROUP BY 1
),
-- window: cumulative of customers_n, recomputed from the rows of each window (these do not add up)
window_1_cumulative AS (
  SELECT
    sp.period_,
    COUNT(DISTINCT "orders"."customer_id") AS "customers_n__1"
  FROM "orders"
  JOIN spine_1 AS sp
    ON CAST(date_trunc('month', CAST("orders"."order_date" AS DATE)) AS DATE) BETWEEN (SELECT first_ FROM range_orders_month) AND sp.period_
  WHERE "orders"."order_date" IS NOT NULL
  GROUP BY 1
),
-- values: paid_share, customers_n on every period of the spine (no rows: counts and sums 0, ratios NULL)
values_1 AS (
  SELECT
    sp.period_,
    COALESCE(s."paid_share__1", 0) / NULLIF(COALESCE(s."paid_share__2", 0), 0) AS "paid_share",
    SUM(COALESCE(s."paid_share__1", 0)) OVER (ORDER BY sp.period_ ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) / NULLIF(SUM(COALESCE(s."paid_share__2", 0)) OVER (ORDER BY sp.period_ ROWS BETWEEN 2 PRECEDING AND CURRENT ROW), 0) AS "paid_share__rolling_3",
    SUM(COALESCE(s."paid_share__1", 0)) OVER (PARTITION BY DATE_TRUNC('YEAR', sp.period_) ORDER BY sp.period_ ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) / NULLIF(SUM(COALESCE(s."paid_share__2", 0)) OVER (PARTITION BY DATE_TRUNC('YEAR', sp.period_) ORDER BY sp.period_ ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW), 0) AS "paid_share__year_to_date",
    COALESCE(s."customers_n__1", 0) AS "customers_n",
    COALESCE(w2."customers_n__1", 0) AS "customers_n__cumulative",
    COALESCE(w1."customers_n__1", 0) AS "customers_n__rolling_3"
  FROM spine_1 AS sp
  LEFT JOIN scan_1 AS s ON s.period_ = sp.period_
  LEFT JOIN window_1_rolling_3 AS w1 ON w1.period_ = sp.period_
  LEFT JOIN window_1_cumulative AS w2 ON w2.period_ = sp.period_
),
-- kpi: paid_share_rolling_3 (metrics/kpis.yml:11)
derived_paid_share_rolling_3 AS (
  SELECT
    k.period_,
    k."paid_share__rolling_3" AS value_
  FROM values_1 AS k
),
-- kpi: paid_share_ytd (metrics/kpis.yml:13)
derived_paid_share_ytd AS (
  SELECT
    k.period_,
    k."paid_share__year_to_date" AS value_
  FROM values_1 AS k
),
-- kpi: customers_cumulative (metrics/kpis.yml:15)
derived_customers_cumulative AS (
  SELECT
    k.period_,
    k."customers_n__cumulative" AS value_
  FROM values_1 AS k
),
-- kpi: customers_rolling_3 (metrics/kpis.yml:17)
derived_customers_rolling_3 AS (
  SELECT
    k.period_,
    k."customers_n__rolling_3" AS value_
  FROM values_1 AS k
),
-- kpi: customers_change (metrics/kpis.yml:19)
derived_customers_change AS (
  SELECT
    k.period_,
    k."customers_n" - j1."customers_n" AS value_
  FROM values_1 AS k
  LEFT JOIN values_1 AS j1 ON j1.period_ = CAST(k.period_ - INTERVAL 1 MONTH AS DATE)
)
SELECT 'paid_share_rolling_3' AS kpi, period_ AS period, CAST("value_" AS DOUBLE) AS value FROM derived_paid_share_rolling_3 WHERE period_ >= $from_month AND period_ <= $to_month
UNION ALL
SELECT 'paid_share_ytd' AS kpi, period_ AS period, CAST("value_" AS DOUBLE) AS value FROM derived_paid_share_ytd WHERE period_ >= $from_month AND period_ <= $to_month
UNION ALL
SELECT 'customers_cumulative' AS kpi, period_ AS period, CAST("value_" AS DOUBLE) AS value FROM derived_customers_cumulative WHERE period_ >= $from_month AND period_ <= $to_month
UNION ALL
SELECT 'customers_rolling_3' AS kpi, period_ AS period, CAST("value_" AS DOUBLE) AS value FROM derived_customers_rolling_3 WHERE period_ >= $from_month AND period_ <= $to_month
UNION ALL
SELECT 'customers_change' AS kpi, period_ AS period, CAST("value_" AS DOUBLE) AS value FROM derived_customers_change WHERE period_ >= $from_month AND period_ <= $to_month
ORDER BY 1, 2
