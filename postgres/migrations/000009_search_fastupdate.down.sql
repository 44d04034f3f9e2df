ALTER INDEX url_search_doc_idx RESET (fastupdate);
