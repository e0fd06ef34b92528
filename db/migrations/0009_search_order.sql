-- searchPersons pages from an index in its ORDER BY's order at any size: last name, first
-- name and id as search keys in byte ("C") order, which also bounds a name prefix (a range
-- seek). Before, PostgreSQL sorted every match of a prefix for a page of 20.
CREATE INDEX persons_search_order_idx
    ON persons (search_last COLLATE "C", search_first COLLATE "C", id);
