-- grain: one row per tag on a company version (company_row_id is the company's _dlt_id)
SELECT
    CAST(t._dlt_parent_id AS VARCHAR) AS company_row_id,
    CAST(t.id AS VARCHAR) AS tag_id,
    CAST(t.name AS VARCHAR) AS tag_name
FROM companies__tags AS t
