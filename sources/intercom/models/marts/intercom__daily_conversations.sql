-- grain: one row per UTC day on which a conversation was created or first closed
-- Each conversation counts once on its creation day and once (first closes) on the day of its first close.
-- Created conversations split by source.delivered_as: customer_initiated, admin_initiated, automated.
-- count_still_open: conversations created that day that are open or snoozed now.
WITH created AS (
    SELECT
        CAST(created_at AT TIME ZONE 'UTC' AS DATE) AS date_day,
        CAST(COUNT(*) AS BIGINT) AS count_conversations,
        CAST(SUM(CASE WHEN source_delivered_as = 'customer_initiated' THEN 1 ELSE 0 END) AS BIGINT)
            AS count_customer_initiated,
        CAST(SUM(CASE WHEN source_delivered_as = 'admin_initiated' THEN 1 ELSE 0 END) AS BIGINT)
            AS count_admin_initiated,
        CAST(SUM(CASE WHEN source_delivered_as = 'automated' THEN 1 ELSE 0 END) AS BIGINT) AS count_automated,
        MEDIAN(minutes_to_first_admin_response) AS median_minutes_to_first_admin_response,
        CAST(SUM(CASE WHEN is_open THEN 1 ELSE 0 END) AS BIGINT) AS count_still_open
    FROM intercom__conversation_metrics
    GROUP BY CAST(created_at AT TIME ZONE 'UTC' AS DATE)
),
first_closes AS (
    SELECT CAST(first_close_at AT TIME ZONE 'UTC' AS DATE) AS date_day, CAST(COUNT(*) AS BIGINT) AS count_first_closes
    FROM intercom__conversation_metrics
    WHERE first_close_at IS NOT NULL
    GROUP BY CAST(first_close_at AT TIME ZONE 'UTC' AS DATE)
),
days AS (
    SELECT date_day FROM created
    UNION
    SELECT date_day FROM first_closes
)
SELECT
    days.date_day,
    COALESCE(created.count_conversations, 0) AS count_conversations,
    COALESCE(created.count_customer_initiated, 0) AS count_customer_initiated,
    COALESCE(created.count_admin_initiated, 0) AS count_admin_initiated,
    COALESCE(created.count_automated, 0) AS count_automated,
    COALESCE(first_closes.count_first_closes, 0) AS count_first_closes,
    created.median_minutes_to_first_admin_response,
    COALESCE(created.count_still_open, 0) AS count_still_open
FROM days
LEFT JOIN created ON created.date_day = days.date_day
LEFT JOIN first_closes ON first_closes.date_day = days.date_day
