-- kpictl: revenue_3h, channels_3h, revenue_day_before by channel
WITH
-- scan: orders by hour, channel: every aggregate below in one pass
-- kpi: revenue (metrics/sales.yml:2)
-- kpi: channels (metrics/sales.yml:8)
scan_1 AS MATERIALIZED (
  SELECT
    date_trunc('hour', CAST("orders"."ordered_at" AS TIMESTAMP)) AS period_,
    "orders"."channel" AS "channel_",
    SUM("orders"."amount") AS "revenue__1",
    COUNT(*) AS "revenue__2",
    COUNT(DISTINCT "orders"."channel") AS "channels__1"
  FROM "orders"
  WHERE "orders"."ordered_at" IS NOT NULL
  GROUP BY 1, 2
),
-- range: the first and last hour with rows in scan_1 (the spine spans them whatever --from/--to)
range_orders_hour AS (
  SELECT min(period_) AS first_, max(period_) AS last_
  FROM (
    SELECT period_ FROM scan_1
  ) AS p
),
-- spine: every hour of the range, by every channel seen in scan_1
spine_1 AS (
  SELECT p.period_, c."channel_"
  FROM (SELECT CAST(unnest(generate_series((SELECT first_ FROM range_orders_hour), (SELECT last_ FROM range_orders_hour), INTERVAL 1 HOUR)) AS TIMESTAMP) AS period_) AS p
  CROSS JOIN (SELECT DISTINCT "channel_" FROM scan_1) AS c
),
-- window: rolling_3 of channels, recomputed from the rows of each window (these do not add up)
window_1_rolling_3 AS (
  SELECT
    sp.period_, sp."channel_",
    COUNT(DISTINCT "orders"."channel") AS "channels__1"
  FROM "orders"
  JOIN spine_1 AS sp
    ON date_trunc('hour', CAST("orders"."ordered_at" AS TIMESTAMP)) BETWEEN CAST(sp.period_ - INTERVAL 2 HOUR AS TIMESTAMP) AND sp.period_
   AND "orders"."channel" IS NOT DISTINCT FROM sp."channel_"
  WHERE "orders"."ordered_at" IS NOT NULL
  GROUP BY 1, 2
),
-- values: revenue, channels on every period of the spine (no rows: counts and sums 0, ratios NULL)
values_1 AS (
  SELECT
    sp.period_, sp."channel_",
    (CASE WHEN COALESCE(s."revenue__2", 0) = 0 THEN 0 ELSE s."revenue__1" END) AS "revenue",
    (CASE WHEN SUM(COALESCE(s."revenue__2", 0)) OVER (PARTITION BY sp."channel_" ORDER BY sp.period_ ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) = 0 THEN 0 ELSE SUM(s."revenue__1") OVER (PARTITION BY sp."channel_" ORDER BY sp.period_ ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) END) AS "revenue__rolling_3",
    COALESCE(s."channels__1", 0) AS "channels",
    COALESCE(w1."channels__1", 0) AS "channels__rolling_3"
  FROM spine_1 AS sp
  LEFT JOIN scan_1 AS s ON s.period_ = sp.period_ AND s."channel_" IS NOT DISTINCT FROM sp."channel_"
  LEFT JOIN window_1_rolling_3 AS w1 ON w1.period_ = sp.period_ AND w1."channel_" IS NOT DISTINCT FROM sp."channel_"
),
-- kpi: revenue_3h (metrics/sales.yml:9)
derived_revenue_3h AS (
  SELECT
    k.period_, k."channel_",
    k."revenue__rolling_3" AS value_
  FROM values_1 AS k
),
-- kpi: channels_3h (metrics/sales.yml:10)
derived_channels_3h AS (
  SELECT
    k.period_, k."channel_",
    k."channels__rolling_3" AS value_
  FROM values_1 AS k
),
-- kpi: revenue_day_before (metrics/sales.yml:11)
derived_revenue_day_before AS (
  SELECT
    k.period_, k."channel_",
    j1."revenue" AS value_
  FROM values_1 AS k
  LEFT JOIN values_1 AS j1 ON j1.period_ = CAST(k.period_ - INTERVAL 24 HOUR AS TIMESTAMP) AND j1."channel_" IS NOT DISTINCT FROM k."channel_"
)
SELECT 'revenue_3h' AS kpi, period_ AS period, "channel_" AS "channel", CAST("value_" AS DOUBLE) AS value FROM derived_revenue_3h WHERE period_ >= $from_hour AND period_ <= $to_hour
UNION ALL
SELECT 'channels_3h' AS kpi, period_ AS period, "channel_" AS "channel", CAST("value_" AS DOUBLE) AS value FROM derived_channels_3h WHERE period_ >= $from_hour AND period_ <= $to_hour
UNION ALL
SELECT 'revenue_day_before' AS kpi, period_ AS period, "channel_" AS "channel", CAST("value_" AS DOUBLE) AS value FROM derived_revenue_day_before WHERE period_ >= $from_hour AND period_ <= $to_hour
ORDER BY 1, 2, 3
