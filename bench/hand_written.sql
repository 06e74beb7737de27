-- The whole shipped catalog (metrics/*.yml, 43 KPIs) by month, written by hand as fast as we
-- know how: the "physical limit" that bench/run_vs_sql.py holds kpictl against.
--
-- One scan per source, every KPI of that source as an aggregate with FILTER (WHERE …) in the
-- same GROUP BY. Then what `kpictl run` reports with no --from/--to: every month from the
-- first to the last month with rows in that source (empty months included: counts and sums 0
-- there, ratios and averages NULL), a KPI over two sources on the union of both ranges, one
-- row per (kpi, month). Paths are relative to the project folder: the runner runs it from there.
--
-- Only what a careful person would write anyway: NULLIF where a denominator can be 0 (DuckDB
-- 2 gives inf for x / 0), COALESCE(…, 0) where an empty month or an all-filtered group must
-- read 0, no WHERE on time columns (they are never NULL, and a NULL month would be dropped by
-- the calendar join anyway).
WITH
leads AS (
  SELECT date_trunc('month', created_date)::DATE AS m,
         count(*) AS leads,
         count(*) FILTER (WHERE converted) AS converted_leads,
         count(*) FILTER (WHERE paid) / count(*) AS paid_lead_share,
         count(*) / count(DISTINCT landing_page) AS leads_per_landing_page
  FROM read_parquet('data/leads.parquet') GROUP BY 1
),
web AS (
  SELECT date_trunc('month', date)::DATE AS m,
         count(DISTINCT visitor_id) AS visitors,
         sum(cta_clicks) / nullif(sum(cta_views), 0) AS cta_click_rate,
         count(*) FILTER (WHERE channel IN ('organic_search', 'paid_search')) AS traffic_by_keyword
  FROM read_parquet('data/web_sessions.parquet') GROUP BY 1
),
purchases AS (
  SELECT date_trunc('month', order_date)::DATE AS m,
         sum(first_offer - final_price) / nullif(sum(first_offer), 0) AS negotiation_gap,
         sum(final_price - budget) / nullif(sum(budget), 0) AS budget_gap,
         count(*) FILTER (WHERE NOT conforming) / count(*) AS supplier_nonconformity_rate,
         count(*) FILTER (WHERE NOT has_po_or_tender) / count(*) AS off_process_rate,
         count(DISTINCT (item, supplier)) FILTER (WHERE has_po_or_tender)
           / nullif(count(DISTINCT item) FILTER (WHERE has_po_or_tender), 0) AS suppliers_per_item,
         count(*) FILTER (WHERE urgent) / count(*) AS urgent_order_share,
         sum(purchasing_cost) / count(*) AS avg_order_cost
  FROM read_parquet('data/purchase_orders.parquet') GROUP BY 1
),
invoices AS (
  SELECT date_trunc('month', due_date)::DATE AS m,
         count(*) FILTER (WHERE paid_date <= due_date) / count(*) AS supplier_payment_compliance
  FROM read_parquet('data/supplier_invoices.parquet') GROUP BY 1
),
interactions AS (
  SELECT date_trunc('month', date)::DATE AS m,
         count(*) FILTER (WHERE purpose = 'strategic' AND kind = 'call') AS strategic_calls,
         count(*) FILTER (WHERE purpose = 'strategic' AND kind = 'email') AS strategic_emails,
         count(*) FILTER (WHERE kind = 'reply')
           / nullif(count(*) FILTER (WHERE kind IN ('call', 'email')), 0) AS engagement_rate,
         count(*) FILTER (WHERE purpose = 'support' AND kind = 'call') AS support_calls,
         count(*) FILTER (WHERE purpose = 'support' AND kind = 'email') AS support_emails
  FROM read_parquet('data/interactions.parquet') GROUP BY 1
),
-- the customers who ordered within 30 days of signing (each signs once)
activated AS (
  SELECT DISTINCT c.customer_id
  FROM read_parquet('data/customers.parquet') AS c
  JOIN read_parquet('data/orders.parquet') AS o
    ON o.customer_id = c.customer_id AND o.order_date BETWEEN c.signup_date AND c.signup_date + INTERVAL 30 DAY
),
customers AS (
  SELECT date_trunc('month', signup_date)::DATE AS m,
         count(*) FILTER (WHERE referred_by IS NOT NULL) AS referrals,
         count(*) AS new_customers,
         count(a.customer_id) / count(*) AS activation_rate
  FROM read_parquet('data/customers.parquet') AS c
  LEFT JOIN activated AS a ON a.customer_id = c.customer_id
  GROUP BY 1
),
contracts AS (
  SELECT date_trunc('month', end_date)::DATE AS m,
         count(*) FILTER (WHERE status = 'renewed')
           / nullif(count(*) FILTER (WHERE status <> 'active'), 0) AS retention_rate,
         count(*) FILTER (WHERE status IN ('cancelled', 'not_renewed'))
           / nullif(count(*) FILTER (WHERE status <> 'active'), 0) AS churn_rate
  FROM read_parquet('data/contracts.parquet') GROUP BY 1
),
tickets AS (
  SELECT date_trunc('month', opened_at)::DATE AS m,
         avg(satisfaction) AS csat,
         count(*) AS support_requests,
         avg(date_diff('minute', opened_at, resolved_at)) / 60.0 AS resolution_time,
         quantile_cont(date_diff('minute', opened_at, resolved_at), 0.9) / 60.0 AS resolution_time_p90
  FROM read_parquet('data/tickets.parquet') GROUP BY 1
),
orders AS (
  SELECT date_trunc('month', order_date)::DATE AS m,
         sum(amount) AS revenue,
         sum(amount) FILTER (WHERE sale_type = 'direct') AS revenue_direct,
         sum(amount) FILTER (WHERE sale_type = 'cross_sell') AS revenue_cross_sell,
         sum(amount) FILTER (WHERE sale_type = 'renewal') AS revenue_renewal,
         sum(amount) FILTER (WHERE sale_type = 'upsell') AS revenue_upsell,
         avg(date_diff('day', order_date, ship_date)) AS order_processing_time
  FROM read_parquet('data/orders.parquet') GROUP BY 1
),
warehouses AS (
  SELECT date_trunc('month', month)::DATE AS m,
         sum(storage_cost) / nullif(sum(nominal_capacity * occupancy_index), 0) AS storage_unit_cost,
         -- one row per warehouse and month: the month's snapshot is the row itself
         sum(nominal_capacity * occupancy_index) / nullif(sum(nominal_capacity), 0) AS warehouse_occupancy
  FROM read_parquet('data/warehouse_months.parquet') GROUP BY 1
),
shipments AS (
  SELECT date_trunc('month', ship_date)::DATE AS m,
         count(*) FILTER (WHERE on_time AND complete) / nullif(count(on_time), 0) AS otif_rate,
         sum(transport_cost) AS transport_cost,
         count(*) FILTER (WHERE on_time) / nullif(count(on_time), 0) AS on_time_delivery_rate,
         sum(weight_kg) / nullif(sum(capacity_kg), 0) AS transport_utilization
  FROM read_parquet('data/shipments.parquet') GROUP BY 1
),
-- Each source on the months of its own range; a KPI of two sources on the union of both.
months AS (
  SELECT 'leads' AS src, min(m) AS lo, max(m) AS hi FROM leads
  UNION ALL SELECT 'web', min(m), max(m) FROM web
  UNION ALL SELECT 'purchases', min(m), max(m) FROM purchases
  UNION ALL SELECT 'invoices', min(m), max(m) FROM invoices
  UNION ALL SELECT 'interactions', min(m), max(m) FROM interactions
  UNION ALL SELECT 'customers', min(m), max(m) FROM customers
  UNION ALL SELECT 'contracts', min(m), max(m) FROM contracts
  UNION ALL SELECT 'tickets', min(m), max(m) FROM tickets
  UNION ALL SELECT 'orders', min(m), max(m) FROM orders
  UNION ALL SELECT 'warehouses', min(m), max(m) FROM warehouses
  UNION ALL SELECT 'shipments', min(m), max(m) FROM shipments
  -- the two KPIs over two sources: the union of both ranges
  UNION ALL SELECT 'conversion', min(m), max(m) FROM (SELECT m FROM leads UNION ALL SELECT m FROM web)
  UNION ALL SELECT 'transport', min(m), max(m) FROM (SELECT m FROM shipments UNION ALL SELECT m FROM orders)
),
calendar AS (
  SELECT src, unnest(generate_series(lo, hi, INTERVAL 1 MONTH))::DATE AS m FROM months
)
SELECT c.m AS period, v.*
FROM calendar AS c
LEFT JOIN leads ON c.src = 'leads' AND leads.m = c.m
LEFT JOIN web ON c.src = 'web' AND web.m = c.m
LEFT JOIN purchases ON c.src = 'purchases' AND purchases.m = c.m
LEFT JOIN invoices ON c.src = 'invoices' AND invoices.m = c.m
LEFT JOIN interactions ON c.src = 'interactions' AND interactions.m = c.m
LEFT JOIN customers ON c.src = 'customers' AND customers.m = c.m
LEFT JOIN contracts ON c.src = 'contracts' AND contracts.m = c.m
LEFT JOIN tickets ON c.src = 'tickets' AND tickets.m = c.m
LEFT JOIN orders ON c.src IN ('orders', 'transport') AND orders.m = c.m
LEFT JOIN warehouses ON c.src = 'warehouses' AND warehouses.m = c.m
LEFT JOIN shipments ON c.src IN ('shipments', 'transport') AND shipments.m = c.m
LEFT JOIN leads AS l2 ON c.src = 'conversion' AND l2.m = c.m
LEFT JOIN web AS w2 ON c.src = 'conversion' AND w2.m = c.m
-- one row per (kpi, month): the KPIs of the calendar's source, NULLs kept
CROSS JOIN LATERAL (
  SELECT * FROM (VALUES
    ('leads', 'leads', coalesce(leads.leads, 0)::DOUBLE),
    ('leads', 'converted_leads', coalesce(leads.converted_leads, 0)),
    ('leads', 'paid_lead_share', leads.paid_lead_share),
    ('leads', 'leads_per_landing_page', leads.leads_per_landing_page),
    ('web', 'visitors', coalesce(web.visitors, 0)),
    ('web', 'cta_click_rate', web.cta_click_rate),
    ('web', 'traffic_by_keyword', coalesce(web.traffic_by_keyword, 0)),
    ('conversion', 'conversion_rate', coalesce(l2.converted_leads, 0) / nullif(coalesce(w2.visitors, 0), 0)),
    ('purchases', 'negotiation_gap', purchases.negotiation_gap),
    ('purchases', 'budget_gap', purchases.budget_gap),
    ('purchases', 'supplier_nonconformity_rate', purchases.supplier_nonconformity_rate),
    ('purchases', 'off_process_rate', purchases.off_process_rate),
    ('purchases', 'suppliers_per_item', purchases.suppliers_per_item),
    ('purchases', 'urgent_order_share', purchases.urgent_order_share),
    ('purchases', 'avg_order_cost', purchases.avg_order_cost),
    ('invoices', 'supplier_payment_compliance', invoices.supplier_payment_compliance),
    ('interactions', 'strategic_calls', coalesce(interactions.strategic_calls, 0)),
    ('interactions', 'strategic_emails', coalesce(interactions.strategic_emails, 0)),
    ('interactions', 'engagement_rate', interactions.engagement_rate),
    ('interactions', 'support_calls', coalesce(interactions.support_calls, 0)),
    ('interactions', 'support_emails', coalesce(interactions.support_emails, 0)),
    ('customers', 'referrals', coalesce(customers.referrals, 0)),
    ('customers', 'new_customers', coalesce(customers.new_customers, 0)),
    ('customers', 'activation_rate', customers.activation_rate),
    ('contracts', 'retention_rate', contracts.retention_rate),
    ('contracts', 'churn_rate', contracts.churn_rate),
    ('tickets', 'csat', tickets.csat),
    ('tickets', 'support_requests', coalesce(tickets.support_requests, 0)),
    ('tickets', 'resolution_time', tickets.resolution_time),
    ('tickets', 'resolution_time_p90', tickets.resolution_time_p90),
    ('orders', 'revenue', coalesce(orders.revenue, 0)),
    ('orders', 'revenue_direct', coalesce(orders.revenue_direct, 0)),
    ('orders', 'revenue_cross_sell', coalesce(orders.revenue_cross_sell, 0)),
    ('orders', 'revenue_renewal', coalesce(orders.revenue_renewal, 0)),
    ('orders', 'revenue_upsell', coalesce(orders.revenue_upsell, 0)),
    ('orders', 'order_processing_time', orders.order_processing_time),
    ('warehouses', 'storage_unit_cost', warehouses.storage_unit_cost),
    ('warehouses', 'warehouse_occupancy', warehouses.warehouse_occupancy),
    ('shipments', 'otif_rate', shipments.otif_rate),
    ('shipments', 'transport_cost', coalesce(shipments.transport_cost, 0)),
    ('shipments', 'on_time_delivery_rate', shipments.on_time_delivery_rate),
    ('shipments', 'transport_utilization', shipments.transport_utilization),
    ('transport', 'transport_cost_to_sales',
     coalesce(shipments.transport_cost, 0) / nullif(coalesce(orders.revenue, 0), 0))
  ) AS t(src, kpi, value)
  WHERE t.src = c.src
) AS v
ORDER BY v.kpi, period
