DROP TABLE old_reports
