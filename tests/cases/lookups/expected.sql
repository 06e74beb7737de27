-- kpictl: flights, delayed_share by origin_airport.city, dest_airport.city, country, alliance, conditions
WITH
-- scan: flights by month, origin_airport.city, dest_airport.city, country, alliance, conditions: every aggregate below in one pass
-- kpi: flights (metrics/flights.yml:2)
-- kpi: delayed_share (metrics/flights.yml:5)
scan_1 AS MATERIALIZED (
  SELECT
    CAST(date_trunc('month', CAST("flights"."flight_date" AS DATE)) AS DATE) AS period_,
    "origin_airport"."city" AS "origin_airport__city_",
    "dest_airport"."city" AS "dest_airport__city_",
    "planes.manufacturers.countries"."country" AS "country_",
    "alliances"."alliance" AS "alliance_",
    "weather"."conditions" AS "conditions_",
    COUNT(*) AS "flights__1",
    COUNT(*) FILTER(WHERE "flights"."delayed") AS "delayed_share__1",
    COUNT("flights"."delayed") AS "delayed_share__2"
  FROM "flights"
  LEFT JOIN "airports" AS "dest_airport" ON "dest_airport"."faa" = "flights"."dest"
  LEFT JOIN "airports" AS "origin_airport" ON "origin_airport"."faa" = "flights"."origin"
  LEFT JOIN "planes" ON "planes"."tailnum" = "flights"."tailnum"
  LEFT JOIN "manufacturers" AS "planes.manufacturers" ON "planes.manufacturers"."id" = "planes"."manufacturer_id"
  LEFT JOIN "countries" AS "planes.manufacturers.countries" ON "planes.manufacturers.countries"."code" = "planes.manufacturers"."country_code"
  LEFT JOIN "alliances" ON "alliances"."carrier" = "flights"."carrier"
    AND ("alliances"."valid_from" IS NULL OR CAST("alliances"."valid_from" AS TIMESTAMP) <= CAST("flights"."flight_date" AS TIMESTAMP))
    AND ("alliances"."valid_to" IS NULL OR CAST("flights"."flight_date" AS TIMESTAMP) < CAST("alliances"."valid_to" AS TIMESTAMP))
  LEFT JOIN "weather" ON "weather"."airport" = "flights"."origin"
    AND CAST("weather"."day" AS DATE) = CAST("flights"."flight_date" AS DATE)
  WHERE "flights"."flight_date" IS NOT NULL
  GROUP BY 1, 2, 3, 4, 5, 6
),
-- range: the first and last month with rows in scan_1 (the spine spans them whatever --from/--to)
range_flights_month AS (
  SELECT min(period_) AS first_, max(period_) AS last_
  FROM (
    SELECT period_ FROM scan_1
  ) AS p
),
-- spine: every month of the range, by every origin_airport.city, dest_airport.city, country, alliance, conditions seen in scan_1
spine_1 AS (
  SELECT p.period_, c."origin_airport__city_", c."dest_airport__city_", c."country_", c."alliance_", c."conditions_"
  FROM (SELECT CAST(unnest(generate_series((SELECT first_ FROM range_flights_month), (SELECT last_ FROM range_flights_month), INTERVAL 1 MONTH)) AS DATE) AS period_) AS p
  CROSS JOIN (SELECT DISTINCT "origin_airport__city_", "dest_airport__city_", "country_", "alliance_", "conditions_" FROM scan_1) AS c
),
-- values: flights, delayed_share on every period of the spine (no rows: counts and sums 0, ratios NULL)
values_1 AS (
  SELECT
    sp.period_, sp."origin_airport__city_", sp."dest_airport__city_", sp."country_", sp."alliance_", sp."conditions_",
    COALESCE(s."flights__1", 0) AS "flights",
    COALESCE(s."delayed_share__1", 0) / NULLIF(COALESCE(s."delayed_share__2", 0), 0) AS "delayed_share"
  FROM spine_1 AS sp
  LEFT JOIN scan_1 AS s ON s.period_ = sp.period_ AND s."origin_airport__city_" IS NOT DISTINCT FROM sp."origin_airport__city_" AND s."dest_airport__city_" IS NOT DISTINCT FROM sp."dest_airport__city_" AND s."country_" IS NOT DISTINCT FROM sp."country_" AND s."alliance_" IS NOT DISTINCT FROM sp."alliance_" AND s."conditions_" IS NOT DISTINCT FROM sp."conditions_"
)
SELECT 'flights' AS kpi, period_ AS period, "origin_airport__city_" AS "origin_airport.city", "dest_airport__city_" AS "dest_airport.city", "country_" AS "country", "alliance_" AS "alliance", "conditions_" AS "conditions", CAST("flights" AS DOUBLE) AS value FROM values_1
UNION ALL
SELECT 'delayed_share' AS kpi, period_ AS period, "origin_airport__city_" AS "origin_airport.city", "dest_airport__city_" AS "dest_airport.city", "country_" AS "country", "alliance_" AS "alliance", "conditions_" AS "conditions", CAST("delayed_share" AS DOUBLE) AS value FROM values_1
ORDER BY 1, 2, 3, 4, 5, 6, 7
