-- grain: one row per (contact, company) membership (the complete list, not the embedded copy cut at 10)
SELECT
    CAST(m.contact_id AS VARCHAR) AS contact_id,
    CAST(m.company_id AS VARCHAR) AS company_id
FROM contact_companies AS m
