-- The search indexer adds up to 1,000 links a statement to url_search.
-- With GIN's fast update those entries went to the index's pending list,
-- and whichever statement found the list full merged all of it into the
-- index at once, holding off the statements beside it for tens of
-- milliseconds. Without it each batch pays its own entries, evenly.
ALTER INDEX url_search_doc_idx SET (fastupdate = off);
