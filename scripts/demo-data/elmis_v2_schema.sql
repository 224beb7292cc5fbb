-- A small slice of eLMIS (OpenLMIS v2) with its real table and column names,
-- enough to show the pipeline working. The full v2 -> v3 mapping is separate.
CREATE TABLE geographic_levels (id serial PRIMARY KEY, code varchar(50) NOT NULL UNIQUE, name varchar(250) NOT NULL,
  levelnumber int NOT NULL);
CREATE TABLE geographic_zones (id serial PRIMARY KEY, code varchar(50) NOT NULL UNIQUE, name varchar(250) NOT NULL,
  levelid int NOT NULL REFERENCES geographic_levels, parentid int REFERENCES geographic_zones);
CREATE TABLE facility_types (id serial PRIMARY KEY, code varchar(50) NOT NULL UNIQUE, name varchar(30) NOT NULL,
  active boolean DEFAULT true);
CREATE TABLE facilities (id serial PRIMARY KEY, code varchar(50) NOT NULL UNIQUE, name varchar(50) NOT NULL,
  geographiczoneid int NOT NULL REFERENCES geographic_zones, typeid int NOT NULL REFERENCES facility_types,
  active boolean NOT NULL DEFAULT true, gofflinedate date, modifieddate timestamp DEFAULT now());
CREATE TABLE programs (id serial PRIMARY KEY, code varchar(50) NOT NULL UNIQUE, name varchar(50),
  active boolean DEFAULT true);
CREATE TABLE products (id serial PRIMARY KEY, code varchar(50) NOT NULL UNIQUE, primaryname varchar(150) NOT NULL,
  dispensingunit varchar(20), fullsupply boolean DEFAULT true, packsize int, active boolean DEFAULT true);
CREATE TABLE processing_periods (id serial PRIMARY KEY, name varchar(50) NOT NULL, startdate timestamp NOT NULL,
  enddate timestamp NOT NULL, numberofmonths int);
CREATE TABLE requisitions (id serial PRIMARY KEY, facilityid int NOT NULL REFERENCES facilities,
  programid int NOT NULL REFERENCES programs, periodid int NOT NULL REFERENCES processing_periods,
  status varchar(20) NOT NULL, emergency boolean NOT NULL DEFAULT false, createddate timestamp DEFAULT now(),
  modifieddate timestamp DEFAULT now());
CREATE TABLE requisition_line_items (id serial PRIMARY KEY, rnrid int NOT NULL REFERENCES requisitions ON DELETE CASCADE,
  productcode varchar(50) NOT NULL, beginningbalance int, quantityreceived int, quantitydispensed int,
  stockinhand int, amc int, fullsupply boolean NOT NULL, remarks varchar(250),
  createddate timestamp DEFAULT now(), modifieddate timestamp DEFAULT now());
