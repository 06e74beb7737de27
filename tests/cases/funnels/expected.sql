-- kpictl: signup_rate, same_channel_rate by channel
WITH
-- funnel: signup_rate: the entities with a visits row, and those converting to signups within 7 days
-- events: its base rows (with their period and breakdown), then its conversion rows, each read once
funnel_1_events AS MATERIALIZED (
  SELECT 0 AS k_, "visits"."user_id" AS e_, CAST("visits"."visited_at" AS TIMESTAMP) AS t_, CAST(date_trunc('month', CAST("visits"."visited_at" AS DATE)) AS DATE) AS period_, "visits"."channel" AS "channel_"
  FROM "visits"
  WHERE "visits"."visited_at" IS NOT NULL
    AND "visits"."user_id" IS NOT NULL
  UNION ALL
  SELECT 1, "signups"."user_id", CAST("signups"."signed_up_at" AS TIMESTAMP), NULL, NULL
  FROM "signups"
  WHERE "signups"."signed_up_at" IS NOT NULL
    AND "signups"."user_id" IS NOT NULL
),
-- credit: each conversion goes to the entity's latest base event at or before it, if within 7 days
funnel_1_credit AS (
  SELECT DISTINCT e_, b_
  FROM (
    SELECT k_, e_, t_, max(CASE WHEN k_ = 0 THEN t_ END) OVER (PARTITION BY e_ ORDER BY t_, k_ ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS b_
    FROM funnel_1_events
  ) AS c
  WHERE k_ = 1 AND t_ <= b_ + INTERVAL 7 DAY
),
-- scan: the entities of each period and breakdown, each counted once; a base event matches at most one credit row
scan_1 AS MATERIALIZED (
  SELECT
    ev.period_,
    ev."channel_",
    count(DISTINCT ev.e_) AS "signup_rate__entered",
    count(DISTINCT CASE WHEN cr.b_ IS NOT NULL THEN ev.e_ END) AS "signup_rate__converted"
  FROM funnel_1_events AS ev
  LEFT JOIN funnel_1_credit AS cr ON cr.e_ = ev.e_ AND cr.b_ = ev.t_
  WHERE ev.k_ = 0
  GROUP BY 1, 2
),
-- funnel: same_channel_rate: the entities with a visits row, and those converting to signups within 7 days
-- events: its base rows (with their period and breakdown), then its conversion rows, each read once
funnel_2_events AS MATERIALIZED (
  SELECT 0 AS k_, "visits"."user_id" AS e_, "visits"."channel" AS s1_, CAST("visits"."visited_at" AS TIMESTAMP) AS t_, CAST(date_trunc('month', CAST("visits"."visited_at" AS DATE)) AS DATE) AS period_, "visits"."channel" AS "channel_"
  FROM "visits"
  WHERE "visits"."visited_at" IS NOT NULL
    AND "visits"."user_id" IS NOT NULL
  UNION ALL
  SELECT 1, "signups"."user_id", "signups"."channel", CAST("signups"."signed_up_at" AS TIMESTAMP), NULL, NULL
  FROM "signups"
  WHERE "signups"."signed_up_at" IS NOT NULL
    AND "signups"."user_id" IS NOT NULL
),
-- credit: each conversion goes to the entity's latest base event at or before it with the same 1 value(s), if within 7 days
funnel_2_credit AS (
  SELECT DISTINCT e_, s1_, b_
  FROM (
    SELECT k_, e_, s1_, t_, max(CASE WHEN k_ = 0 THEN t_ END) OVER (PARTITION BY e_, s1_ ORDER BY t_, k_ ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS b_
    FROM funnel_2_events
  ) AS c
  WHERE k_ = 1 AND t_ <= b_ + INTERVAL 7 DAY
),
-- scan: the entities of each period and breakdown, each counted once; a base event matches at most one credit row
scan_2 AS MATERIALIZED (
  SELECT
    ev.period_,
    ev."channel_",
    count(DISTINCT ev.e_) AS "same_channel_rate__entered",
    count(DISTINCT CASE WHEN cr.b_ IS NOT NULL THEN ev.e_ END) AS "same_channel_rate__converted"
  FROM funnel_2_events AS ev
  LEFT JOIN funnel_2_credit AS cr ON cr.e_ = ev.e_ AND cr.b_ = ev.t_ AND cr.s1_ IS NOT DISTINCT FROM ev.s1_
  WHERE ev.k_ = 0
  GROUP BY 1, 2
),
-- range: the first and last month with rows in scan_1, scan_2 (the spine spans them whatever --from/--to)
range_visits_month AS (
  SELECT min(period_) AS first_, max(period_) AS last_
  FROM (
    SELECT period_ FROM scan_1
    UNION ALL SELECT period_ FROM scan_2
  ) AS p
),
-- spine: every month of the range, by every channel seen in scan_1
spine_1 AS (
  SELECT p.period_, c."channel_"
  FROM (SELECT CAST(unnest(generate_series((SELECT first_ FROM range_visits_month), (SELECT last_ FROM range_visits_month), INTERVAL 1 MONTH)) AS DATE) AS period_) AS p
  CROSS JOIN (SELECT DISTINCT "channel_" FROM scan_1) AS c
),
-- values: signup_rate on every period of the spine (no rows: counts and sums 0, ratios NULL)
values_1 AS (
  SELECT
    sp.period_, sp."channel_",
    COALESCE(s."signup_rate__converted", 0) / NULLIF(COALESCE(s."signup_rate__entered", 0), 0) AS "signup_rate"
  FROM spine_1 AS sp
  LEFT JOIN scan_1 AS s ON s.period_ = sp.period_ AND s."channel_" IS NOT DISTINCT FROM sp."channel_"
),
-- spine: every month of the range, by every channel seen in scan_2
spine_2 AS (
  SELECT p.period_, c."channel_"
  FROM (SELECT CAST(unnest(generate_series((SELECT first_ FROM range_visits_month), (SELECT last_ FROM range_visits_month), INTERVAL 1 MONTH)) AS DATE) AS period_) AS p
  CROSS JOIN (SELECT DISTINCT "channel_" FROM scan_2) AS c
),
-- values: same_channel_rate on every period of the spine (no rows: counts and sums 0, ratios NULL)
values_2 AS (
  SELECT
    sp.period_, sp."channel_",
    COALESCE(s."same_channel_rate__converted", 0) / NULLIF(COALESCE(s."same_channel_rate__entered", 0), 0) AS "same_channel_rate"
  FROM spine_2 AS sp
  LEFT JOIN scan_2 AS s ON s.period_ = sp.period_ AND s."channel_" IS NOT DISTINCT FROM sp."channel_"
)
SELECT 'signup_rate' AS kpi, period_ AS period, "channel_" AS "channel", CAST("signup_rate" AS DOUBLE) AS value FROM values_1
UNION ALL
SELECT 'same_channel_rate' AS kpi, period_ AS period, "channel_" AS "channel", CAST("same_channel_rate" AS DOUBLE) AS value FROM values_2
ORDER BY 1, 2, 3
