-- The eLMIS (OpenLMIS v2) tables the openlmis-v2-v3 mapping pack reads, with
-- the real v2 column names, order and types (OpenLMIS/open-lmis
-- modules/db/src/main/resources/db/migration/20160203224438968__schema_20.sql;
-- the list is tests/fixtures/openlmis/v2_columns.json). eLMIS adds columns of
-- its own to some tables; those are left out. Keys, unique codes and foreign
-- keys as in v2 (the v2 dump adds them after the tables, so do we).
-- Data: elmis_v2_data.sql; live changes: live_workload.pgbench.

CREATE TABLE geographic_levels (
  id serial,
  code varchar(50) NOT NULL,
  name varchar(250) NOT NULL,
  levelnumber integer NOT NULL,
  createddate timestamp DEFAULT now(),
  createdby integer,
  modifiedby integer,
  modifieddate timestamptz DEFAULT now(),
  PRIMARY KEY (id)
);
CREATE TABLE geographic_zones (
  id serial,
  code varchar(50) NOT NULL,
  name varchar(250) NOT NULL,
  levelid integer NOT NULL,
  parentid integer,
  catchmentpopulation integer,
  latitude numeric(8,5),
  longitude numeric(8,5),
  createdby integer,
  createddate timestamp DEFAULT now(),
  modifiedby integer,
  modifieddate timestamp DEFAULT now(),
  PRIMARY KEY (id)
);
CREATE TABLE facility_types (
  id serial,
  code varchar(50) NOT NULL,
  name varchar(30) NOT NULL,
  description varchar(250),
  levelid integer,
  nominalmaxmonth integer NOT NULL,
  nominaleop numeric(4,2) NOT NULL,
  displayorder integer,
  active boolean,
  createddate timestamp DEFAULT now(),
  createdby integer,
  modifiedby integer,
  modifieddate timestamptz DEFAULT now(),
  PRIMARY KEY (id)
);
CREATE TABLE facility_operators (
  id serial,
  code varchar NOT NULL,
  text varchar(20),
  displayorder integer,
  createddate timestamp DEFAULT now(),
  createdby integer,
  modifiedby integer,
  modifieddate timestamptz DEFAULT now(),
  PRIMARY KEY (id)
);
CREATE TABLE facilities (
  id serial,
  code varchar(50) NOT NULL,
  name varchar(50) NOT NULL,
  description varchar(250),
  gln varchar(30),
  mainphone varchar(20),
  fax varchar(20),
  address1 varchar(50),
  address2 varchar(50),
  geographiczoneid integer NOT NULL,
  typeid integer NOT NULL,
  catchmentpopulation integer,
  latitude numeric(8,5),
  longitude numeric(8,5),
  altitude numeric(8,4),
  operatedbyid integer,
  coldstoragegrosscapacity numeric(8,4),
  coldstoragenetcapacity numeric(8,4),
  suppliesothers boolean,
  sdp boolean NOT NULL,
  online boolean,
  satellite boolean,
  parentfacilityid integer,
  haselectricity boolean,
  haselectronicscc boolean,
  haselectronicdar boolean,
  active boolean NOT NULL,
  golivedate date NOT NULL,
  godowndate date,
  comment text,
  enabled boolean NOT NULL,
  virtualfacility boolean NOT NULL,
  createdby integer,
  createddate timestamp DEFAULT now(),
  modifiedby integer,
  modifieddate timestamp DEFAULT now(),
  pricescheduleid integer,
  PRIMARY KEY (id)
);
CREATE TABLE programs (
  id serial,
  code varchar(50) NOT NULL,
  name varchar(50),
  description varchar(50),
  active boolean,
  templateconfigured boolean,
  regimentemplateconfigured boolean,
  budgetingapplies boolean DEFAULT false NOT NULL,
  usesdar boolean,
  push boolean DEFAULT false,
  sendfeed boolean DEFAULT false,
  createdby integer,
  createddate timestamp DEFAULT now(),
  modifiedby integer,
  modifieddate timestamp DEFAULT now(),
  isequipmentconfigured boolean DEFAULT false,
  hideskippedproducts boolean DEFAULT false NOT NULL,
  shownonfullsupplytab boolean DEFAULT true NOT NULL,
  enableskipperiod boolean DEFAULT false NOT NULL,
  enableivdform boolean DEFAULT false NOT NULL,
  usepriceschedule boolean DEFAULT false NOT NULL,
  PRIMARY KEY (id)
);
CREATE TABLE product_categories (
  id serial,
  code varchar(50) NOT NULL,
  name varchar(100) NOT NULL,
  displayorder integer NOT NULL,
  createdby integer,
  createddate timestamp DEFAULT now(),
  modifiedby integer,
  modifieddate timestamp DEFAULT now(),
  PRIMARY KEY (id)
);
CREATE TABLE products (
  id serial,
  code varchar(50) NOT NULL,
  alternateitemcode varchar(20),
  manufacturer varchar(100),
  manufacturercode varchar(30),
  manufacturerbarcode varchar(20),
  mohbarcode varchar(20),
  gtin varchar(20),
  type varchar(100),
  primaryname varchar(150) NOT NULL,
  fullname varchar(250),
  genericname varchar(100),
  alternatename varchar(100),
  description varchar(250),
  strength varchar(14),
  formid integer,
  dosageunitid integer,
  productgroupid integer,
  dispensingunit varchar(20) NOT NULL,
  dosesperdispensingunit smallint NOT NULL,
  packsize smallint NOT NULL,
  alternatepacksize smallint,
  storerefrigerated boolean,
  storeroomtemperature boolean,
  hazardous boolean,
  flammable boolean,
  controlledsubstance boolean,
  lightsensitive boolean,
  approvedbywho boolean,
  contraceptivecyp numeric(8,4),
  packlength numeric(8,4),
  packwidth numeric(8,4),
  packheight numeric(8,4),
  packweight numeric(8,4),
  packspercarton smallint,
  cartonlength numeric(8,4),
  cartonwidth numeric(8,4),
  cartonheight numeric(8,4),
  cartonsperpallet smallint,
  expectedshelflife smallint,
  specialstorageinstructions text,
  specialtransportinstructions text,
  active boolean NOT NULL,
  fullsupply boolean NOT NULL,
  tracer boolean NOT NULL,
  roundtozero boolean NOT NULL,
  archived boolean,
  packroundingthreshold smallint NOT NULL,
  createdby integer,
  createddate timestamp DEFAULT now(),
  modifiedby integer,
  modifieddate timestamp DEFAULT now(),
  PRIMARY KEY (id)
);
CREATE TABLE program_products (
  id serial,
  programid integer NOT NULL,
  productid integer NOT NULL,
  dosespermonth integer NOT NULL,
  active boolean NOT NULL,
  currentprice numeric(20,2) DEFAULT 0,
  createdby integer,
  createddate timestamp DEFAULT now(),
  modifiedby integer,
  modifieddate timestamp DEFAULT now(),
  productcategoryid integer NOT NULL,
  displayorder integer,
  fullsupply boolean,
  isacoefficientsid integer,
  PRIMARY KEY (id)
);
CREATE TABLE facility_approved_products (
  id serial,
  facilitytypeid integer NOT NULL,
  programproductid integer NOT NULL,
  maxmonthsofstock integer NOT NULL,
  minmonthsofstock numeric(4,2),
  eop numeric(4,2),
  createdby integer,
  createddate timestamp DEFAULT now(),
  modifiedby integer,
  modifieddate timestamp DEFAULT now(),
  PRIMARY KEY (id)
);
CREATE TABLE programs_supported (
  id serial,
  facilityid integer NOT NULL,
  programid integer NOT NULL,
  startdate timestamp,
  active boolean NOT NULL,
  createdby integer,
  createddate timestamp DEFAULT now(),
  modifiedby integer,
  modifieddate timestamp DEFAULT now(),
  PRIMARY KEY (id)
);
CREATE TABLE processing_schedules (
  id serial,
  code varchar(50) NOT NULL,
  name varchar(50) NOT NULL,
  description varchar(250),
  createdby integer,
  createddate timestamp DEFAULT now(),
  modifiedby integer,
  modifieddate timestamp DEFAULT now(),
  PRIMARY KEY (id)
);
CREATE TABLE processing_periods (
  id serial,
  scheduleid integer NOT NULL,
  name varchar(50) NOT NULL,
  description varchar(250),
  startdate timestamp NOT NULL,
  enddate timestamp NOT NULL,
  numberofmonths integer,
  createdby integer,
  createddate timestamp DEFAULT now(),
  modifiedby integer,
  modifieddate timestamp DEFAULT now(),
  PRIMARY KEY (id)
);
CREATE TABLE supervisory_nodes (
  id serial,
  parentid integer,
  facilityid integer NOT NULL,
  name varchar(50) NOT NULL,
  code varchar(50) NOT NULL,
  description varchar(250),
  createdby integer,
  createddate timestamp DEFAULT now(),
  modifiedby integer,
  modifieddate timestamp DEFAULT now(),
  PRIMARY KEY (id)
);
CREATE TABLE requisition_groups (
  id serial,
  code varchar(50) NOT NULL,
  name varchar(50) NOT NULL,
  description varchar(250),
  supervisorynodeid integer,
  createdby integer,
  createddate timestamp DEFAULT now(),
  modifiedby integer,
  modifieddate timestamp DEFAULT now(),
  PRIMARY KEY (id)
);
CREATE TABLE requisition_group_members (
  id serial,
  requisitiongroupid integer NOT NULL,
  facilityid integer NOT NULL,
  createdby integer,
  createddate timestamp DEFAULT now(),
  modifiedby integer,
  modifieddate timestamp DEFAULT now(),
  PRIMARY KEY (id)
);
CREATE TABLE requisition_group_program_schedules (
  id serial,
  requisitiongroupid integer NOT NULL,
  programid integer NOT NULL,
  scheduleid integer NOT NULL,
  directdelivery boolean NOT NULL,
  dropofffacilityid integer,
  createdby integer,
  createddate timestamp DEFAULT now(),
  modifiedby integer,
  modifieddate timestamp DEFAULT now(),
  PRIMARY KEY (id)
);
CREATE TABLE supply_lines (
  id serial,
  description varchar(250),
  supervisorynodeid integer NOT NULL,
  programid integer NOT NULL,
  supplyingfacilityid integer NOT NULL,
  exportorders boolean NOT NULL,
  createdby integer,
  createddate timestamp DEFAULT now(),
  modifiedby integer,
  modifieddate timestamp DEFAULT now(),
  PRIMARY KEY (id)
);
CREATE TABLE users (
  id serial,
  username varchar(50) NOT NULL,
  password varchar(128) DEFAULT 'not-in-use'::varchar,
  firstname varchar(50) NOT NULL,
  lastname varchar(50) NOT NULL,
  employeeid varchar(50),
  restrictlogin boolean DEFAULT false,
  jobtitle varchar(50),
  primarynotificationmethod varchar(50),
  officephone varchar(30),
  cellphone varchar(30),
  email varchar(50),
  supervisorid integer,
  facilityid integer,
  verified boolean DEFAULT false,
  active boolean DEFAULT true,
  createdby integer,
  createddate timestamp DEFAULT now(),
  modifiedby integer,
  modifieddate timestamp DEFAULT now(),
  ismobileuser boolean DEFAULT false,
  PRIMARY KEY (id)
);
CREATE TABLE requisitions (
  id serial,
  facilityid integer NOT NULL,
  programid integer NOT NULL,
  periodid integer NOT NULL,
  status varchar(20) NOT NULL,
  emergency boolean DEFAULT false NOT NULL,
  fullsupplyitemssubmittedcost numeric(15,2),
  nonfullsupplyitemssubmittedcost numeric(15,2),
  supervisorynodeid integer,
  createdby integer,
  createddate timestamp DEFAULT now(),
  modifiedby integer,
  modifieddate timestamp DEFAULT now(),
  allocatedbudget numeric(20,2),
  clientsubmittedtime timestamp,
  clientsubmittednotes varchar(256),
  PRIMARY KEY (id)
);
CREATE TABLE requisition_line_items (
  id serial,
  rnrid integer NOT NULL,
  productcode varchar(50) NOT NULL,
  product varchar(250),
  productdisplayorder integer,
  productcategory varchar(100),
  productcategorydisplayorder integer,
  dispensingunit varchar(20) NOT NULL,
  beginningbalance integer,
  quantityreceived integer,
  quantitydispensed integer,
  stockinhand integer,
  quantityrequested integer,
  reasonforrequestedquantity text,
  calculatedorderquantity integer,
  quantityapproved integer,
  totallossesandadjustments integer,
  newpatientcount integer,
  stockoutdays integer,
  normalizedconsumption integer,
  amc integer,
  maxmonthsofstock integer NOT NULL,
  maxstockquantity integer,
  packstoship integer,
  price numeric(15,4),
  expirationdate varchar(10),
  remarks text,
  dosespermonth integer NOT NULL,
  dosesperdispensingunit integer NOT NULL,
  packsize smallint NOT NULL,
  roundtozero boolean,
  packroundingthreshold integer,
  fullsupply boolean NOT NULL,
  skipped boolean DEFAULT false NOT NULL,
  reportingdays integer,
  createdby integer,
  createddate timestamp DEFAULT now(),
  modifiedby integer,
  modifieddate timestamp DEFAULT now(),
  previousnormalizedconsumptions varchar(25) DEFAULT '[]'::varchar,
  previousstockinhand integer,
  periodnormalizedconsumption integer,
  PRIMARY KEY (id)
);
CREATE TABLE requisition_status_changes (
  id serial,
  rnrid integer NOT NULL,
  status varchar(20) NOT NULL,
  createdby integer NOT NULL,
  createddate timestamp DEFAULT now(),
  modifiedby integer NOT NULL,
  modifieddate timestamp DEFAULT now(),
  username varchar(100),
  PRIMARY KEY (id)
);
CREATE TABLE losses_adjustments_types (
  name varchar(50) NOT NULL,
  description text NOT NULL,
  additive boolean,
  displayorder integer,
  createddate timestamp DEFAULT now(),
  isdefault boolean DEFAULT true,
  category text,
  PRIMARY KEY (name)
);
CREATE TABLE requisition_line_item_losses_adjustments (
  requisitionlineitemid integer NOT NULL,
  type varchar(250) NOT NULL,
  quantity integer,
  createdby integer,
  createddate timestamp DEFAULT now(),
  modifiedby integer,
  modifieddate timestamp DEFAULT now(),
  PRIMARY KEY (requisitionlineitemid, type)
);

-- Unique codes and foreign keys, as in v2.
ALTER TABLE geographic_levels ADD UNIQUE (code);
ALTER TABLE geographic_zones ADD UNIQUE (code),
  ADD FOREIGN KEY (levelid) REFERENCES geographic_levels, ADD FOREIGN KEY (parentid) REFERENCES geographic_zones;
ALTER TABLE facility_types ADD UNIQUE (code);
ALTER TABLE facility_operators ADD UNIQUE (code);
ALTER TABLE facilities ADD UNIQUE (code),
  ADD FOREIGN KEY (geographiczoneid) REFERENCES geographic_zones, ADD FOREIGN KEY (typeid) REFERENCES facility_types,
  ADD FOREIGN KEY (operatedbyid) REFERENCES facility_operators, ADD FOREIGN KEY (parentfacilityid) REFERENCES facilities;
ALTER TABLE programs ADD UNIQUE (code);
ALTER TABLE product_categories ADD UNIQUE (code);
ALTER TABLE products ADD UNIQUE (code);
ALTER TABLE program_products ADD UNIQUE (productid, programid),
  ADD FOREIGN KEY (programid) REFERENCES programs, ADD FOREIGN KEY (productid) REFERENCES products,
  ADD FOREIGN KEY (productcategoryid) REFERENCES product_categories;
ALTER TABLE facility_approved_products ADD UNIQUE (facilitytypeid, programproductid),
  ADD FOREIGN KEY (facilitytypeid) REFERENCES facility_types, ADD FOREIGN KEY (programproductid) REFERENCES program_products;
ALTER TABLE programs_supported ADD UNIQUE (facilityid, programid),
  ADD FOREIGN KEY (facilityid) REFERENCES facilities, ADD FOREIGN KEY (programid) REFERENCES programs;
ALTER TABLE processing_schedules ADD UNIQUE (code);
ALTER TABLE processing_periods ADD FOREIGN KEY (scheduleid) REFERENCES processing_schedules;
ALTER TABLE supervisory_nodes ADD UNIQUE (code),
  ADD FOREIGN KEY (parentid) REFERENCES supervisory_nodes, ADD FOREIGN KEY (facilityid) REFERENCES facilities;
ALTER TABLE requisition_groups ADD UNIQUE (code), ADD FOREIGN KEY (supervisorynodeid) REFERENCES supervisory_nodes;
ALTER TABLE requisition_group_members ADD UNIQUE (requisitiongroupid, facilityid),
  ADD FOREIGN KEY (requisitiongroupid) REFERENCES requisition_groups, ADD FOREIGN KEY (facilityid) REFERENCES facilities;
ALTER TABLE requisition_group_program_schedules ADD UNIQUE (requisitiongroupid, programid),
  ADD FOREIGN KEY (requisitiongroupid) REFERENCES requisition_groups, ADD FOREIGN KEY (programid) REFERENCES programs,
  ADD FOREIGN KEY (scheduleid) REFERENCES processing_schedules, ADD FOREIGN KEY (dropofffacilityid) REFERENCES facilities;
ALTER TABLE supply_lines ADD UNIQUE (supervisorynodeid, programid),
  ADD FOREIGN KEY (supervisorynodeid) REFERENCES supervisory_nodes, ADD FOREIGN KEY (programid) REFERENCES programs,
  ADD FOREIGN KEY (supplyingfacilityid) REFERENCES facilities;
ALTER TABLE users ADD UNIQUE (username), ADD FOREIGN KEY (facilityid) REFERENCES facilities,
  ADD FOREIGN KEY (supervisorid) REFERENCES users;
ALTER TABLE requisitions ADD FOREIGN KEY (facilityid) REFERENCES facilities, ADD FOREIGN KEY (programid) REFERENCES programs,
  ADD FOREIGN KEY (periodid) REFERENCES processing_periods, ADD FOREIGN KEY (supervisorynodeid) REFERENCES supervisory_nodes;
ALTER TABLE requisition_line_items ADD FOREIGN KEY (rnrid) REFERENCES requisitions;
ALTER TABLE requisition_status_changes ADD FOREIGN KEY (rnrid) REFERENCES requisitions,
  ADD FOREIGN KEY (createdby) REFERENCES users;
ALTER TABLE requisition_line_item_losses_adjustments
  ADD FOREIGN KEY (requisitionlineitemid) REFERENCES requisition_line_items,
  ADD FOREIGN KEY (type) REFERENCES losses_adjustments_types;
CREATE INDEX ON requisition_line_items (rnrid);
CREATE INDEX ON requisition_status_changes (rnrid);
CREATE INDEX ON requisitions (facilityid, programid, periodid);
