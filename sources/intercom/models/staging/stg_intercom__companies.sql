-- grain: one row per company (its current version in history mode), deleted ones included
SELECT
    CAST(c.id AS VARCHAR) AS company_id,
    CAST(c._dlt_id AS VARCHAR) AS company_row_id,
    CAST(c.company_id AS VARCHAR) AS external_company_id,
    CAST(c.name AS VARCHAR) AS name,
    CAST(c.plan__name AS VARCHAR) AS plan_name,
    CAST(c.industry AS VARCHAR) AS industry,
    CAST(c.website AS VARCHAR) AS website,
    CAST(c.size AS BIGINT) AS size,
    CAST(c.monthly_spend AS DOUBLE) AS monthly_spend,
    CAST(c.user_count AS BIGINT) AS user_count,
    CAST(c.session_count AS BIGINT) AS session_count,
    CAST(c.created_at AS TIMESTAMPTZ) AS created_at,
    CAST(c.updated_at AS TIMESTAMPTZ) AS updated_at,
    CAST(c.last_request_at AS TIMESTAMPTZ) AS last_request_at,
    CAST(c.deleted_at AS TIMESTAMPTZ) AS deleted_at
FROM companies AS c
