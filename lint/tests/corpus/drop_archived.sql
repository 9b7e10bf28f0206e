DROP TABLE archived;
