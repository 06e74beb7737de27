-- kpictl: conversion_rate by channel
WITH
-- scan: leads by all, channel: every aggregate below in one pass
-- kpi: converted_leads (metrics/marketing.yml:26)
scan_1 AS MATERIALIZED (
  SELECT
    DATE '1970-01-01' AS period_,
    "leads"."channel" AS "channel_",
    COUNT(*) FILTER(WHERE "leads"."converted") AS "converted_leads__1"
  FROM "leads"
  WHERE "leads"."created_date" IS NOT NULL
    AND CAST("leads"."created_date" AS DATE) >= $from_day
    AND CAST("leads"."created_date" AS DATE) <= $to_day
  GROUP BY 1, 2
),
-- scan: web_sessions by all, channel: every aggregate below in one pass
-- kpi: visitors (metrics/marketing.yml:43)
scan_2 AS MATERIALIZED (
  SELECT
    DATE '1970-01-01' AS period_,
    "web_sessions"."channel" AS "channel_",
    COUNT(DISTINCT "web_sessions"."visitor_id") AS "visitors__1"
  FROM "web_sessions"
  WHERE "web_sessions"."date" IS NOT NULL
    AND CAST("web_sessions"."date" AS DATE) >= $from_day
    AND CAST("web_sessions"."date" AS DATE) <= $to_day
  GROUP BY 1, 2
),
-- range: the first and last all with rows in scan_1 (the spine spans them whatever --from/--to)
range_leads_all AS (
  SELECT min(period_) AS first_, max(period_) AS last_
  FROM (
    SELECT period_ FROM scan_1
  ) AS p
),
-- range: the first and last all with rows in scan_2 (the spine spans them whatever --from/--to)
range_web_sessions_all AS (
  SELECT min(period_) AS first_, max(period_) AS last_
  FROM (
    SELECT period_ FROM scan_2
  ) AS p
),
-- spine: every all of the range, by every channel seen in scan_1
spine_1 AS (
  SELECT p.period_, c."channel_"
  FROM (SELECT CAST(unnest(generate_series((SELECT first_ FROM range_leads_all), (SELECT last_ FROM range_leads_all), INTERVAL 1 DAY)) AS DATE) AS period_) AS p
  CROSS JOIN (SELECT DISTINCT "channel_" FROM scan_1) AS c
),
-- values: converted_leads on every period of the spine (no rows: counts and sums 0, ratios NULL)
values_1 AS (
  SELECT
    sp.period_, sp."channel_",
    COALESCE(s."converted_leads__1", 0) AS "converted_leads"
  FROM spine_1 AS sp
  LEFT JOIN scan_1 AS s ON s.period_ = sp.period_ AND s."channel_" IS NOT DISTINCT FROM sp."channel_"
),
-- spine: every all of the range, by every channel seen in scan_2
spine_2 AS (
  SELECT p.period_, c."channel_"
  FROM (SELECT CAST(unnest(generate_series((SELECT first_ FROM range_web_sessions_all), (SELECT last_ FROM range_web_sessions_all), INTERVAL 1 DAY)) AS DATE) AS period_) AS p
  CROSS JOIN (SELECT DISTINCT "channel_" FROM scan_2) AS c
),
-- values: visitors on every period of the spine (no rows: counts and sums 0, ratios NULL)
values_2 AS (
  SELECT
    sp.period_, sp."channel_",
    COALESCE(s."visitors__1", 0) AS "visitors"
  FROM spine_2 AS sp
  LEFT JOIN scan_2 AS s ON s.period_ = sp.period_ AND s."channel_" IS NOT DISTINCT FROM sp."channel_"
),
-- kpi: conversion_rate (metrics/marketing.yml:69)
derived_conversion_rate AS (
  SELECT
    k.period_, k."channel_",
    CASE WHEN j1.period_ IS NULL THEN 0 ELSE j1."converted_leads" END / NULLIF(CASE WHEN j2.period_ IS NULL THEN 0 ELSE j2."visitors" END, 0) AS value_
  FROM (
    SELECT period_, "channel_" FROM values_1
    UNION SELECT period_, "channel_" FROM values_2
  ) AS k
  LEFT JOIN values_1 AS j1 ON j1.period_ = k.period_ AND j1."channel_" IS NOT DISTINCT FROM k."channel_"
  LEFT JOIN values_2 AS j2 ON j2.period_ = k.period_ AND j2."channel_" IS NOT DISTINCT FROM k."channel_"
)
SELECT 'conversion_rate' AS kpi, period_ AS period, "channel_" AS "channel", CAST("value_" AS DOUBLE) AS value FROM derived_conversion_rate
ORDER BY 1, 2, 3
