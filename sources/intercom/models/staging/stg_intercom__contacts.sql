-- grain: one row per contact (user or lead; its current version in history mode), deleted ones included
SELECT
    CAST(c.id AS VARCHAR) AS contact_id,
    CAST(c.external_id AS VARCHAR) AS external_id,
    CAST(c.role AS VARCHAR) AS role,
    CAST(c.name AS VARCHAR) AS name,
    CAST(c.email AS VARCHAR) AS email,
    CAST(c.owner_id AS VARCHAR) AS owner_id,
    CAST(c.location__country AS VARCHAR) AS country,
    CAST(c.created_at AS TIMESTAMPTZ) AS created_at,
    CAST(c.updated_at AS TIMESTAMPTZ) AS updated_at,
    CAST(c.signed_up_at AS TIMESTAMPTZ) AS signed_up_at,
    CAST(c.last_seen_at AS TIMESTAMPTZ) AS last_seen_at,
    CAST(c.last_replied_at AS TIMESTAMPTZ) AS last_replied_at,
    CAST(c.deleted_at AS TIMESTAMPTZ) AS deleted_at
FROM contacts AS c
