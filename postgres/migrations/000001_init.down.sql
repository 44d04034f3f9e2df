DROP TABLE IF EXISTS url_click_daily, clicks, events, urls, users;
