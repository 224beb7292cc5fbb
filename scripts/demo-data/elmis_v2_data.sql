-- Synthetic eLMIS (OpenLMIS v2) data in Tanzanian shapes, deterministic from a
-- seed and scalable by the number of facilities:
--
--   psql -v ON_ERROR_STOP=1 -v facilities=100 -v seed=42 -f elmis_v2_data.sql DSN
--
-- (both variables are optional: 100 facilities, seed 42). Load it into the
-- schema of elmis_v2_schema.sql. Every "random" choice is a hash of the seed and
-- of what is being decided (rnd('li/123/q')), so the same seed and size give the
-- same rows whatever plan PostgreSQL picks; ids are explicit, and the sequences
-- are moved past them at the end for the live workload (live_workload.pgbench).
--
-- What is made:
--   * geography: Tanzania > 7 zones > the 26 mainland regions > districts
--     (facilities / 4, at least 26, at most 184)
--   * facility types (dispensary .. referral hospital), operators, facilities
--     with coordinates near their region, a few inactive, disabled and virtual
--   * programs (ILS, ARV, TB & Leprosy, Malaria, Laboratory; an inactive one),
--     300 products in 10 categories, program products (some in two programs,
--     some non-full-supply), facility-type approved products
--   * schedules (monthly; quarterly for the laboratory program) and periods
--     from Jan 2024 to Jun 2026; history up to Sep 2025 (the data's "today" is
--     20 Oct 2025)
--   * supply lines (the national node, one per active program)
--   * supervisory nodes (national, one per region), requisition groups (one per
--     region; one without a node), members, program schedules, users
--   * requisitions of every supported program and past period (about 88%
--     reporting), each with the status-change history of its lifecycle:
--     INITIATED > SUBMITTED > AUTHORIZED > IN_APPROVAL > APPROVED > RELEASED or
--     RELEASED_NO_ORDER; rejections (back to INITIATED, then again); SKIPPED
--     periods of programs that allow skipping; emergency requisitions;
--     authorizations on time (<= 10 days after the period), late and very late
--   * line items (full supply, non-full-supply, skipped), losses and
--     adjustments (several lines of one requisition often share a type)
\if :{?facilities}
\else
\set facilities 100
\endif
\if :{?seed}
\else
\set seed 42
\endif
SET client_min_messages = warning;
SET jit = off;
SET elmis.seed = :'seed';
SET elmis.facilities = :'facilities';

-- A uniform number in [0, 1) from the seed and a key; and an integer in [lo, hi].
CREATE FUNCTION pg_temp.rnd(k text) RETURNS float8 LANGUAGE sql STABLE AS $$
  SELECT ('x' || substr(md5(current_setting('elmis.seed') || '/' || k), 1, 8))::bit(32)::bigint / 4294967296.0
$$;
CREATE FUNCTION pg_temp.irnd(k text, lo int, hi int) RETURNS int LANGUAGE sql STABLE AS $$
  SELECT lo + floor(pg_temp.rnd(k) * (hi - lo + 1))::int
$$;

CREATE TEMP TABLE cfg AS
SELECT current_setting('elmis.facilities')::int AS nfac,
       greatest(26, least(184, current_setting('elmis.facilities')::int / 4)) AS ndist,
       timestamp '2023-06-01 08:00' AS setup,   -- when the reference data was entered
       date '2025-10-20' AS today;              -- the history ends here

-- Geography --------------------------------------------------------------------
INSERT INTO geographic_levels (id, code, name, levelnumber, createddate, createdby, modifiedby, modifieddate)
SELECT id, code, name, id, setup, 1, 1, setup
FROM cfg, (VALUES (1, 'country', 'Country'), (2, 'zone', 'Zone'), (3, 'region', 'Region'),
                  (4, 'district', 'District')) l(id, code, name);

INSERT INTO geographic_zones (id, code, name, levelid, parentid, catchmentpopulation, latitude, longitude,
                              createdby, createddate, modifiedby, modifieddate)
SELECT 1, 'TZ', 'Tanzania', 1, NULL, 61741120, -6.36900, 34.88880, 1, setup, 1, setup FROM cfg;

INSERT INTO geographic_zones (id, code, name, levelid, parentid, catchmentpopulation, createdby, createddate,
                              modifiedby, modifieddate)
SELECT 1 + n, code, name, 2, 1, NULL, 1, setup, 1, setup
FROM cfg, (VALUES (1, 'EZ', 'Eastern Zone'), (2, 'NZ', 'Northern Zone'), (3, 'LZ', 'Lake Zone'),
                  (4, 'WZ', 'Western Zone'), (5, 'CZ', 'Central Zone'), (6, 'SHZ', 'Southern Highlands Zone'),
                  (7, 'SZ', 'Southern Zone')) z(n, code, name);

CREATE TEMP TABLE regions (n int, zone int, code text, name text, lat numeric, lon numeric, pop int);
INSERT INTO regions VALUES
  (1, 1, 'DS', 'Dar es Salaam', -6.79235, 39.20833, 5383728), (2, 1, 'PW', 'Pwani', -7.32350, 38.82010, 2024947),
  (3, 1, 'MO', 'Morogoro', -6.82100, 37.66120, 3197104), (4, 2, 'AR', 'Arusha', -3.36700, 36.68300, 2356255),
  (5, 2, 'KL', 'Kilimanjaro', -3.35000, 37.34000, 1861934), (6, 2, 'MY', 'Manyara', -4.31500, 36.95400, 1892502),
  (7, 2, 'TA', 'Tanga', -5.07000, 39.10000, 2615597), (8, 3, 'MZ', 'Mwanza', -2.51600, 32.90000, 3699872),
  (9, 3, 'KG', 'Kagera', -1.33000, 31.81000, 2989299), (10, 3, 'MA', 'Mara', -1.77500, 34.15000, 2372015),
  (11, 3, 'GE', 'Geita', -2.87000, 32.23000, 2977608), (12, 3, 'SI', 'Simiyu', -2.83000, 34.15000, 2140497),
  (13, 3, 'SH', 'Shinyanga', -3.66000, 33.42000, 2241299), (14, 4, 'KM', 'Kigoma', -4.88000, 29.63000, 2470967),
  (15, 4, 'TB', 'Tabora', -5.02000, 32.80000, 3391679), (16, 4, 'KT', 'Katavi', -6.35000, 31.07000, 1152958),
  (17, 5, 'DO', 'Dodoma', -6.16300, 35.75200, 3085625), (18, 5, 'SG', 'Singida', -4.81600, 34.74400, 2008058),
  (19, 6, 'MB', 'Mbeya', -8.90000, 33.46000, 2343754), (20, 6, 'IR', 'Iringa', -7.77000, 35.69000, 1192728),
  (21, 6, 'NJ', 'Njombe', -9.33000, 34.77000, 889946), (22, 6, 'RK', 'Rukwa', -7.97000, 31.62000, 1540519),
  (23, 6, 'SO', 'Songwe', -9.08000, 32.93000, 1344687), (24, 6, 'RV', 'Ruvuma', -10.68000, 35.65000, 1848794),
  (25, 7, 'LI', 'Lindi', -9.99700, 39.71000, 1194028), (26, 7, 'MT', 'Mtwara', -10.27000, 40.18000, 1634947);

INSERT INTO geographic_zones (id, code, name, levelid, parentid, catchmentpopulation, latitude, longitude,
                              createdby, createddate, modifiedby, modifieddate)
SELECT 100 + n, 'TZ-' || code, name, 3, 1 + zone, pop, lat, lon, 1, setup, 1, setup FROM regions, cfg;

CREATE TEMP TABLE districts AS
SELECT k, 1 + (k - 1) % 26 AS region, 1 + (k - 1) / 26 AS nth FROM cfg, generate_series(1, ndist) k;
INSERT INTO geographic_zones (id, code, name, levelid, parentid, catchmentpopulation, latitude, longitude,
                              createdby, createddate, modifiedby, modifieddate)
SELECT 1000 + d.k, 'TZ-' || r.code || '-' || lpad(d.nth::text, 2, '0'),
       r.name || ' ' || (ARRAY['MC', 'DC', 'TC', 'Rural', 'Urban', 'Vijijini', 'Mjini', 'Kaskazini'])[1 + (d.k * 5 + d.nth) % 8]
         || CASE WHEN d.nth > 8 THEN ' ' || ((d.nth - 1) / 8 + 1) ELSE '' END,
       4, 100 + r.n, r.pop / 7 + pg_temp.irnd('dpop/' || d.k, 0, 200000),
       round(r.lat + (pg_temp.rnd('dlat/' || d.k) - 0.5)::numeric, 5), round(r.lon + (pg_temp.rnd('dlon/' || d.k) - 0.5)::numeric, 5),
       1, setup, 1, setup
FROM districts d JOIN regions r ON r.n = d.region, cfg;

-- Facilities -------------------------------------------------------------------
INSERT INTO facility_types (id, code, name, description, levelid, nominalmaxmonth, nominaleop, displayorder, active,
                            createddate, createdby, modifiedby, modifieddate)
SELECT id, code, name, descr, NULL, maxm, eop, id, active, setup, 1, 1, setup
FROM cfg, (VALUES (1, 'disp', 'Dispensary', 'Primary care, village level', 3, 0.5, true),
                  (2, 'hc', 'Health Centre', 'Primary care with in-patients, ward level', 3, 0.5, true),
                  (3, 'dh', 'District Hospital', 'Council hospital', 4, 1.0, true),
                  (4, 'rrh', 'Regional Referral Hospital', NULL, 4, 1.0, true),
                  (5, 'zrh', 'Zonal Referral Hospital', 'Zonal and national referral', 6, 1.5, true),
                  (6, 'msd', 'MSD Zonal Store', 'Medical Stores Department', 6, 2.0, false)) t(id, code, name, descr, maxm, eop, active);

INSERT INTO facility_operators (id, code, text, displayorder, createddate, createdby, modifiedby, modifieddate)
SELECT id, code, text, id, setup, 1, 1, setup
FROM cfg, (VALUES (1, 'GoT', 'Government'), (2, 'FBO', 'Faith Based'), (3, 'PRIV', 'Private'),
                  (4, 'PARA', 'Parastatal')) o(id, code, text);

CREATE TEMP TABLE places (n int, name text);
INSERT INTO places SELECT row_number() OVER (), p FROM unnest(ARRAY[
  'Mwembeni', 'Kibaha', 'Mbezi', 'Chamwino', 'Nkuhungu', 'Kisarawe', 'Mlandizi', 'Bagamoyo', 'Kilosa', 'Ifakara',
  'Mvomero', 'Usa River', 'Himo', 'Babati', 'Korogwe', 'Lushoto', 'Ilemela', 'Magu', 'Bukoba', 'Musoma', 'Chato',
  'Bariadi', 'Kahama', 'Kasulu', 'Urambo', 'Mpanda', 'Kondoa', 'Manyoni', 'Tunduma', 'Mafinga', 'Makambako',
  'Sumbawanga', 'Vwawa', 'Songea', 'Nachingwea', 'Masasi', 'Newala', 'Mkuranga', 'Kilwa', 'Mbinga', 'Ngara',
  'Nzega', 'Igunga', 'Mkalama', 'Gairo', 'Kiteto', 'Same', 'Mwanga', 'Pangani', 'Handeni', 'Sengerema', 'Ukerewe',
  'Tarime', 'Serengeti', 'Bunda', 'Maswa', 'Meatu', 'Kishapu', 'Uvinza', 'Kaliua', 'Mlele', 'Bahi', 'Mpwapwa',
  'Iramba', 'Chunya', 'Kyela', 'Rungwe', 'Kilolo', 'Ludewa', 'Makete', 'Nkasi', 'Momba', 'Tunduru', 'Liwale',
  'Ruangwa', 'Tandahimba', 'Mtama', 'Kongwa', 'Mvumi', 'Kibiti'
]) p;

CREATE TEMP TABLE fac AS
SELECT i, d.k AS district, d.region,
       CASE WHEN i <= 26 AND nfac >= 52 THEN 4   -- the first facility of each region is its referral hospital
            WHEN pg_temp.rnd('ftype/' || i) < 0.66 THEN 1 WHEN pg_temp.rnd('ftype/' || i) < 0.88 THEN 2
            WHEN pg_temp.rnd('ftype/' || i) < 0.985 THEN 3 ELSE 5 END AS type
FROM cfg, generate_series(1, nfac) i
     JOIN districts d ON d.k = CASE WHEN i <= 26 THEN i ELSE 1 + floor(pg_temp.rnd('fdist/' || i) * (SELECT ndist FROM cfg))::int END;

INSERT INTO facilities (id, code, name, description, gln, mainphone, fax, address1, address2, geographiczoneid, typeid,
                        catchmentpopulation, latitude, longitude, altitude, operatedbyid, coldstoragegrosscapacity,
                        coldstoragenetcapacity, suppliesothers, sdp, online, satellite, parentfacilityid,
                        haselectricity, haselectronicscc, haselectronicdar, active, golivedate, godowndate, comment,
                        enabled, virtualfacility, createdby, createddate, modifiedby, modifieddate, pricescheduleid)
SELECT f.i, lpad((100000 + f.i * 37)::text, 6, '0') || '-' || (f.i % 10),
       left(p.name || ' ' || t.name || CASE WHEN f.i > 80 THEN ' ' || (f.i / 80 + 1) ELSE '' END, 50),
       CASE WHEN pg_temp.rnd('fdesc/' || f.i) < 0.3 THEN 'Serves ' || p.name || ' and nearby villages' END,
       CASE WHEN pg_temp.rnd('fgln/' || f.i) < 0.2 THEN '61' || lpad((f.i * 7919)::text, 11, '0') END,
       '+255 7' || lpad((f.i * 104729 % 100000000)::text, 8, '0'), NULL, 'P.O. Box ' || (100 + f.i), NULL,
       1000 + f.district, f.type, 5000 + pg_temp.irnd('fpop/' || f.i, 0, 60000),
       round(gz.latitude + ((pg_temp.rnd('flat/' || f.i) - 0.5) * 0.4)::numeric, 5),
       round(gz.longitude + ((pg_temp.rnd('flon/' || f.i) - 0.5) * 0.4)::numeric, 5),
       round((200 + pg_temp.rnd('falt/' || f.i) * 1600)::numeric, 4),
       CASE WHEN pg_temp.rnd('fop/' || f.i) < 0.74 THEN 1 WHEN pg_temp.rnd('fop/' || f.i) < 0.87 THEN 2
            WHEN pg_temp.rnd('fop/' || f.i) < 0.96 THEN 3 WHEN pg_temp.rnd('fop/' || f.i) < 0.98 THEN 4 END,
       CASE WHEN f.type >= 3 THEN 2.5 END, CASE WHEN f.type >= 3 THEN 2.0 END, f.type >= 3,
       pg_temp.rnd('fsdp/' || f.i) >= 0.03, true, false,
       CASE WHEN pg_temp.rnd('fvirt/' || f.i) < 0.02 AND f.i > 26 THEN f.region END,
       f.type >= 2 OR pg_temp.rnd('fel/' || f.i) < 0.5, f.type >= 3, f.type >= 3,
       pg_temp.rnd('fact/' || f.i) >= 0.03 OR f.i <= 26,
       date '2015-01-01' + pg_temp.irnd('fgolive/' || f.i, 0, 2000),
       CASE WHEN pg_temp.rnd('fact/' || f.i) < 0.03 AND f.i > 26 THEN date '2025-03-01' + pg_temp.irnd('fgodown/' || f.i, 0, 150) END,
       CASE WHEN pg_temp.rnd('fcomm/' || f.i) < 0.1 THEN 'Solar fridge since ' || (2016 + f.i % 8) END,
       pg_temp.rnd('fen/' || f.i) >= 0.02 OR f.i <= 26, pg_temp.rnd('fvirt/' || f.i) < 0.02 AND f.i > 26,
       1, setup, 1, setup, NULL
FROM fac f JOIN facility_types t ON t.id = f.type JOIN places p ON p.n = 1 + (f.i * 31) % 80
     JOIN geographic_zones gz ON gz.id = 1000 + f.district, cfg
ORDER BY f.i;

-- Programs and products --------------------------------------------------------
INSERT INTO programs (id, code, name, description, active, templateconfigured, regimentemplateconfigured,
                      budgetingapplies, usesdar, push, sendfeed, createdby, createddate, modifiedby, modifieddate,
                      isequipmentconfigured, hideskippedproducts, shownonfullsupplytab, enableskipperiod,
                      enableivdform, usepriceschedule)
SELECT id, code, name, descr, active, true, id = 2, false, false, false, false, 1, setup, 1, setup,
       false, false, nfs, skip, false, false
FROM cfg, (VALUES (1, 'ILS', 'ILS', 'Integrated Logistics System', true, true, false),
                  (2, 'ARV', 'ARV', 'Antiretroviral therapy (CTC)', true, false, false),
                  (3, 'TB', 'TB & Leprosy', 'National TB and Leprosy Programme', true, false, false),
                  (4, 'MAL', 'Malaria', 'National Malaria Control Programme', true, true, true),
                  (5, 'LAB', 'Laboratory', 'Laboratory reagents and supplies', true, true, true),
                  (6, 'NUTR', 'Nutrition', 'Therapeutic foods (closed)', false, false, false)) p(id, code, name, descr, active, nfs, skip);

INSERT INTO product_categories (id, code, name, displayorder, createdby, createddate, modifiedby, modifieddate)
SELECT id, code, name, id, 1, setup, 1, setup
FROM cfg, (VALUES (1, 'EM', 'Essential Medicines'), (2, 'AB', 'Antibiotics'), (3, 'ARV', 'Antiretrovirals'),
                  (4, 'ATB', 'Anti-TB Medicines'), (5, 'AM', 'Antimalarials'), (6, 'MS', 'Medical Supplies'),
                  (7, 'LR', 'Laboratory Reagents'), (8, 'FP', 'Family Planning'), (9, 'RT', 'Rapid Tests'),
                  (10, 'NU', 'Nutrition')) c(id, code, name);

-- Medicine bases: name, category, program, dispensing unit, form.
CREATE TEMP TABLE bases (n int, name text, category int, program int, unit text, form text);
INSERT INTO bases SELECT row_number() OVER (), * FROM (VALUES
  ('Paracetamol', 1, 1, 'Tablet', 'Tablets'), ('Ibuprofen', 1, 1, 'Tablet', 'Tablets'),
  ('Ferrous Sulphate + Folic Acid', 1, 1, 'Tablet', 'Tablets'), ('Oral Rehydration Salts', 1, 1, 'Sachet', 'Sachets'),
  ('Zinc Sulphate', 1, 1, 'Tablet', 'Dispersible Tablets'), ('Oxytocin', 1, 1, 'Ampoule', 'Injection'),
  ('Misoprostol', 1, 1, 'Tablet', 'Tablets'), ('Magnesium Sulphate', 1, 1, 'Vial', 'Injection'),
  ('Metformin', 1, 1, 'Tablet', 'Tablets'), ('Amlodipine', 1, 1, 'Tablet', 'Tablets'),
  ('Hydrochlorothiazide', 1, 1, 'Tablet', 'Tablets'), ('Salbutamol', 1, 1, 'Inhaler', 'Inhaler'),
  ('Prednisolone', 1, 1, 'Tablet', 'Tablets'), ('Diclofenac', 1, 1, 'Tablet', 'Tablets'),
  ('Albendazole', 1, 1, 'Tablet', 'Chewable Tablets'), ('Lidocaine', 1, 1, 'Vial', 'Injection'),
  ('Diazepam', 1, 1, 'Ampoule', 'Injection'), ('Amoxicillin', 2, 1, 'Capsule', 'Capsules'),
  ('Metronidazole', 2, 1, 'Tablet', 'Tablets'), ('Ciprofloxacin', 2, 1, 'Tablet', 'Tablets'),
  ('Cotrimoxazole', 2, 1, 'Tablet', 'Tablets'), ('Doxycycline', 2, 1, 'Capsule', 'Capsules'),
  ('Erythromycin', 2, 1, 'Tablet', 'Tablets'), ('Gentamicin', 2, 1, 'Ampoule', 'Injection'),
  ('Ceftriaxone', 2, 1, 'Vial', 'Powder for Injection'), ('Benzylpenicillin', 2, 1, 'Vial', 'Powder for Injection'),
  ('Surgical Gloves', 6, 1, 'Pair', 'Pairs'), ('Disposable Syringe', 6, 1, 'Each', 'Pieces'),
  ('IV Cannula', 6, 1, 'Each', 'Pieces'), ('Gauze Roll', 6, 1, 'Roll', 'Rolls'),
  ('Chlorhexidine', 6, 1, 'Bottle', 'Solution'), ('Medroxyprogesterone', 8, 1, 'Vial', 'Injection'),
  ('Levonorgestrel', 8, 1, 'Tablet', 'Tablets'), ('Ethinylestradiol + Levonorgestrel', 8, 1, 'Cycle', 'Cycles'),
  ('Male Condoms', 8, 1, 'Piece', 'Pieces'),
  ('Tenofovir + Lamivudine + Dolutegravir', 3, 2, 'Tablet', 'Tablets'), ('Abacavir + Lamivudine', 3, 2, 'Tablet', 'Dispersible Tablets'),
  ('Zidovudine + Lamivudine', 3, 2, 'Tablet', 'Tablets'), ('Efavirenz', 3, 2, 'Tablet', 'Tablets'),
  ('Nevirapine', 3, 2, 'Tablet', 'Tablets'), ('Lopinavir + Ritonavir', 3, 2, 'Tablet', 'Tablets'),
  ('Atazanavir + Ritonavir', 3, 2, 'Tablet', 'Tablets'), ('Dolutegravir', 3, 2, 'Tablet', 'Tablets'),
  ('HIV 1/2 Rapid Test (Bioline)', 9, 2, 'Test', 'Tests'), ('HIV 1/2 Rapid Test (Unigold)', 9, 2, 'Test', 'Tests'),
  ('Rifampicin + Isoniazid + Pyrazinamide + Ethambutol', 4, 3, 'Tablet', 'Tablets'),
  ('Rifampicin + Isoniazid', 4, 3, 'Tablet', 'Tablets'), ('Isoniazid', 4, 3, 'Tablet', 'Tablets'),
  ('Pyridoxine', 4, 3, 'Tablet', 'Tablets'), ('Ethambutol', 4, 3, 'Tablet', 'Tablets'),
  ('Rifapentine + Isoniazid', 4, 3, 'Tablet', 'Tablets'),
  ('Artemether + Lumefantrine', 5, 4, 'Tablet', 'Tablets'), ('Artesunate', 5, 4, 'Vial', 'Injection'),
  ('Quinine', 5, 4, 'Ampoule', 'Injection'), ('Sulfadoxine + Pyrimethamine', 5, 4, 'Tablet', 'Tablets'),
  ('Malaria Rapid Diagnostic Test', 9, 4, 'Test', 'Tests'),
  ('CD4 Reagent', 7, 5, 'Test', 'Tests'), ('Haemoglobin Cuvettes', 7, 5, 'Test', 'Tests'),
  ('Glucose Test Strips', 7, 5, 'Strip', 'Strips'), ('Urine Test Strips', 7, 5, 'Strip', 'Strips'),
  ('Blood Grouping Antisera', 7, 5, 'Vial', 'Vials'), ('Giemsa Stain', 7, 5, 'Bottle', 'Bottles'),
  ('Microscope Slides', 7, 5, 'Each', 'Pieces'), ('EDTA Vacutainer Tubes', 7, 5, 'Each', 'Pieces'),
  ('Ready-to-Use Therapeutic Food', 10, 6, 'Sachet', 'Sachets')) b(name, category, program, unit, form);

-- 300 products: each base in strengths and pack sizes (variant = (g - 1) / number of bases).
INSERT INTO products (id, code, alternateitemcode, manufacturer, manufacturercode, manufacturerbarcode, mohbarcode, gtin,
                      type, primaryname, fullname, genericname, alternatename, description, strength, formid,
                      dosageunitid, productgroupid, dispensingunit, dosesperdispensingunit, packsize,
                      alternatepacksize, storerefrigerated, storeroomtemperature, hazardous, flammable,
                      controlledsubstance, lightsensitive, approvedbywho, contraceptivecyp, packlength, packwidth,
                      packheight, packweight, packspercarton, cartonlength, cartonwidth, cartonheight,
                      cartonsperpallet, expectedshelflife, specialstorageinstructions, specialtransportinstructions,
                      active, fullsupply, tracer, roundtozero, archived, packroundingthreshold, createdby,
                      createddate, modifiedby, modifieddate)
SELECT g, (10010000 + b.category * 10000 + g * 7)::text || (ARRAY['AB', 'BE', 'MD', 'TZ'])[1 + g % 4],
       NULL,
       CASE WHEN pg_temp.rnd('pman/' || g) < 0.85
            THEN (ARRAY['Shelys Pharmaceuticals', 'Keko Pharmaceuticals', 'Zenufa Laboratories', 'Cipla Ltd',
                        'Mylan Laboratories', 'Aurobindo Pharma', 'Sandoz', 'Abbott Diagnostics'])[1 + g % 8] END,
       NULL, NULL, NULL,
       CASE WHEN pg_temp.rnd('pgtin/' || g) < 0.6 THEN '0' || (6000000000000 + g * 97)::text
            WHEN pg_temp.rnd('pgtin/' || g) < 0.7 THEN '' END,
       b.form,
       left(b.name || ' ' || s.strength || ' ' || b.form, 150),
       CASE WHEN pg_temp.rnd('pfull/' || g) < 0.5 THEN left(b.name || ' ' || s.strength || ', ' || lower(b.form) || ', pack of ' || s.pack, 250) END,
       left(b.name, 100), NULL,
       CASE WHEN pg_temp.rnd('pdesc/' || g) < 0.2 THEN 'MSD catalogue item' END,
       NULLIF(s.strength, ''), NULL, NULL, NULL, b.unit, 1, s.pack, NULL,
       b.category IN (3, 7) AND g % 3 = 0, true, false, false, false, false, true, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 24, NULL, NULL,
       pg_temp.rnd('pact/' || g) >= 0.02,
       pg_temp.rnd('pfs/' || g) >= 0.08,
       pg_temp.rnd('ptracer/' || g) < 0.1,
       pg_temp.rnd('proundz/' || g) < 0.3, false, (s.pack / 3)::smallint,
       1, setup, 1, setup + (pg_temp.irnd('pmod/' || g, 0, 600) || ' days')::interval
FROM cfg, generate_series(1, 300) g
     JOIN bases b ON b.n = 1 + (g - 1) % (SELECT count(*) FROM bases)
     JOIN LATERAL (SELECT (ARRAY['', '100mg', '250mg', '500mg', '5mg', '10mg', '20mg', '2g'])[1 + (g - 1) / (SELECT count(*) FROM bases)::int % 8] AS strength,
                          (ARRAY[100, 1000, 30, 60, 10, 25, 50, 500])[1 + (g * 3) % 8] AS pack) s ON true
ORDER BY g;

-- Each product in its base's program; one in ten ILS products also in Malaria.
CREATE TEMP TABLE pp AS
SELECT row_number() OVER (ORDER BY p.id, prog) AS id, p.id AS productid, prog AS programid, b.category
FROM products p JOIN bases b ON b.n = 1 + (p.id - 1) % (SELECT count(*) FROM bases),
     LATERAL (SELECT b.program AS prog UNION ALL SELECT 4 WHERE b.program = 1 AND p.id % 10 = 3) x;
INSERT INTO program_products (id, programid, productid, dosespermonth, active, currentprice, createdby, createddate,
                              modifiedby, modifieddate, productcategoryid, displayorder, fullsupply, isacoefficientsid)
SELECT pp.id, pp.programid, pp.productid, 30, pg_temp.rnd('ppact/' || pp.id) >= 0.02,
       round((200 + pg_temp.rnd('price/' || pp.id) ^ 2 * 150000)::numeric, (-1 + pp.id % 3)::int),
       1, setup, 1, setup, pp.category,
       CASE WHEN pg_temp.rnd('ppord/' || pp.id) < 0.9 THEN pp.id::int END,
       CASE WHEN pg_temp.rnd('ppfs/' || pp.id) < 0.3 THEN NULL ELSE p.fullsupply END, NULL
FROM pp JOIN products p ON p.id = pp.productid, cfg ORDER BY pp.id;

INSERT INTO facility_approved_products (id, facilitytypeid, programproductid, maxmonthsofstock, minmonthsofstock, eop,
                                        createdby, createddate, modifiedby, modifieddate)
SELECT row_number() OVER (ORDER BY t.id, pp.id), t.id, pp.id,
       (ARRAY[3, 4, 5, 6, 7, 8])[t.id], 1 + (t.id / 3), 0.5, 1, setup, 1, setup
FROM facility_types t, program_products pp, cfg
WHERE t.active AND pg_temp.rnd('fap/' || t.id || '/' || pp.id) < CASE WHEN t.id = 1 THEN 0.65 ELSE 0.9 END;

-- Schedules and periods: monthly Jan 2024 .. Jun 2026, quarterly Q1 2024 .. Q2 2026.
INSERT INTO processing_schedules (id, code, name, description, createdby, createddate, modifiedby, modifieddate)
SELECT id, code, name, descr, 1, setup, 1, setup
FROM cfg, (VALUES (1, 'SCH001', 'Monthly', 'Monthly reporting'), (2, 'SCH002', 'Quarterly', 'Quarterly reporting (laboratory)')) s(id, code, name, descr);
INSERT INTO processing_periods (id, scheduleid, name, description, startdate, enddate, numberofmonths, createdby,
                                createddate, modifiedby, modifieddate)
SELECT n, 1, to_char(d, 'Mon YYYY'), to_char(d, 'FMMonth YYYY'), d, d + interval '1 month' - interval '1 second', 1,
       1, setup, 1, setup
FROM cfg, generate_series(timestamp '2024-01-01', timestamp '2026-06-01', interval '1 month') WITH ORDINALITY AS m(d, n);
INSERT INTO processing_periods (id, scheduleid, name, description, startdate, enddate, numberofmonths, createdby,
                                createddate, modifiedby, modifieddate)
SELECT 30 + n, 2, 'Q' || extract(quarter FROM d) || ' ' || extract(year FROM d), NULL, d,
       d + interval '3 months' - interval '1 second', CASE WHEN n % 2 = 0 THEN 3 END,   -- v2 allows a NULL month count
       1, setup, 1, setup
FROM cfg, generate_series(timestamp '2024-01-01', timestamp '2026-04-01', interval '3 months') WITH ORDINALITY AS q(d, n);

-- Users: 1 admin, 2 MSD, 100 + region: regional pharmacist, 1000 + facility: facility in-charge.
INSERT INTO users (id, username, password, firstname, lastname, employeeid, restrictlogin, jobtitle,
                   primarynotificationmethod, officephone, cellphone, email, supervisorid, facilityid, verified, active,
                   createdby, createddate, modifiedby, modifieddate, ismobileuser)
SELECT 1, 'Administrator', 'not-in-use', 'System', 'Administrator', NULL, false, 'System administrator', 'Email',
       NULL, NULL, 'admin@elmis.go.tz', NULL::int, NULL::int, true, true, 1, setup, 1, setup, false FROM cfg
UNION ALL
SELECT 2, 'msd.release', 'not-in-use', 'Neema', 'Mushi', 'MSD-0042', false, 'MSD customer service', 'Email',
       '+255 22 2860890', NULL, 'release@msd.go.tz', NULL, 1, true, true, 1, setup, 1, setup, false FROM cfg;
INSERT INTO users (id, username, password, firstname, lastname, employeeid, restrictlogin, jobtitle,
                   primarynotificationmethod, officephone, cellphone, email, supervisorid, facilityid, verified, active,
                   createdby, createddate, modifiedby, modifieddate, ismobileuser)
SELECT 100 + r.n, 'rpharm.' || lower(r.code), 'not-in-use',
       (ARRAY['Amani', 'Baraka', 'Rehema', 'Zawadi', 'Juma', 'Halima', 'Faraji', 'Upendo'])[1 + r.n % 8],
       (ARRAY['Mwakyusa', 'Kimaro', 'Massawe', 'Mollel', 'Lyimo', 'Msuya', 'Mrema', 'Shirima'])[1 + (r.n * 3) % 8],
       'RP-' || r.n, false, 'Regional Pharmacist', 'Email', NULL, '+255 75' || lpad((r.n * 13337)::text, 7, '0'),
       'rpharm.' || lower(r.code) || '@moh.go.tz', NULL, r.n, true, true, 1, setup, 1, setup, false
FROM regions r, cfg WHERE r.n <= (SELECT nfac FROM cfg);
INSERT INTO users (id, username, password, firstname, lastname, employeeid, restrictlogin, jobtitle,
                   primarynotificationmethod, officephone, cellphone, email, supervisorid, facilityid, verified, active,
                   createdby, createddate, modifiedby, modifieddate, ismobileuser)
SELECT 1000 + f.id, 'fac' || f.id, 'not-in-use',
       (ARRAY['Asha', 'Daudi', 'Esther', 'Hassani', 'Joyce', 'Khamis', 'Mariam', 'Petro', 'Saida', 'Yusufu'])[1 + f.id % 10],
       (ARRAY['Mushi', 'Mbwambo', 'Temba', 'Kisanga', 'Nyerere', 'Mfinanga', 'Swai', 'Urassa', 'Mapunda', 'Komba'])[1 + (f.id * 7) % 10],
       CASE WHEN f.id % 5 <> 0 THEN 'EMP' || (20000 + f.id) END, false,
       (ARRAY['Facility In-charge', 'Pharmaceutical Technician', 'Nurse', 'Clinical Officer'])[1 + f.id % 4], 'SMS',
       NULL, CASE WHEN f.id % 7 <> 0 THEN '+255 71' || lpad((f.id * 7331 % 10000000)::text, 7, '0') END,
       CASE WHEN f.id % 3 = 0 THEN '' WHEN f.id % 3 = 1 THEN 'fac' || f.id || '@afya.go.tz' END,
       100 + fa.region, f.id, f.id % 11 <> 0, true, 1, setup, 1, setup, f.id % 4 = 0
FROM facilities f JOIN fac fa ON fa.i = f.id, cfg ORDER BY f.id;

-- Supervision: a national node and one node per region (at its referral hospital, the region's first facility).
INSERT INTO supervisory_nodes (id, parentid, facilityid, name, code, description, createdby, createddate, modifiedby, modifieddate)
SELECT 1, NULL, 1, 'MoH National', 'SN-NAT', 'Ministry of Health, national approval', 1, setup, 1, setup FROM cfg;
INSERT INTO supervisory_nodes (id, parentid, facilityid, name, code, description, createdby, createddate, modifiedby, modifieddate)
SELECT 100 + r.n, 1, (SELECT min(i) FROM fac WHERE fac.region = r.n), r.name || ' RHMT', 'SN-' || r.code,
       CASE WHEN r.n % 2 = 0 THEN 'Regional Health Management Team' END, 1, setup, 1, setup
FROM regions r, cfg WHERE EXISTS (SELECT 1 FROM fac WHERE fac.region = r.n);

-- Supply lines: the national node (where approval ends) of every active program, each supplied by a facility of its own.
INSERT INTO supply_lines (id, description, supervisorynodeid, programid, supplyingfacilityid, exportorders,
                          createdby, createddate, modifiedby, modifieddate)
SELECT p.id, 'MSD supply of ' || p.name, 1, p.id, 1 + (p.id * 7) % (SELECT count(*) FROM fac), p.id <> 5,
       1, setup, 1, setup
FROM programs p, cfg WHERE p.active ORDER BY p.id;

INSERT INTO requisition_groups (id, code, name, description, supervisorynodeid, createdby, createddate, modifiedby, modifieddate)
SELECT 1, 'RG-NONE', 'Unassigned', 'Facilities not yet in a group', NULL::int, 1, setup, 1, setup FROM cfg
UNION ALL
SELECT 100 + r.n, 'RG-' || r.code, r.name || ' facilities', NULL, 100 + r.n, 1, setup, 1, setup
FROM regions r, cfg WHERE EXISTS (SELECT 1 FROM fac WHERE fac.region = r.n);
INSERT INTO requisition_group_members (id, requisitiongroupid, facilityid, createdby, createddate, modifiedby, modifieddate)
SELECT f.i, 100 + f.region, f.i, 1, setup, 1, setup FROM fac f, cfg ORDER BY f.i;
INSERT INTO requisition_group_program_schedules (id, requisitiongroupid, programid, scheduleid, directdelivery,
                                                 dropofffacilityid, createdby, createddate, modifiedby, modifieddate)
SELECT row_number() OVER (ORDER BY g.id, p.id), g.id, p.id, CASE WHEN p.code = 'LAB' THEN 2 ELSE 1 END,
       p.code <> 'ILS', CASE WHEN p.code = 'ILS' THEN sn.facilityid END, 1, setup, 1, setup
FROM requisition_groups g JOIN supervisory_nodes sn ON sn.id = g.supervisorynodeid, programs p, cfg
WHERE p.active;

INSERT INTO programs_supported (id, facilityid, programid, startdate, active, createdby, createddate, modifiedby, modifieddate)
SELECT row_number() OVER (ORDER BY f.i, p.id), f.i, p.id,
       (date '2016-01-01' + pg_temp.irnd('psd/' || f.i || '/' || p.id, 0, 2000))::timestamp,
       p.id = 1 OR pg_temp.rnd('psact/' || f.i || '/' || p.id) >= 0.04, 1, setup, 1, setup
FROM fac f, programs p, cfg
WHERE p.id = 1
   OR (p.id = 2 AND (f.type >= 3 OR pg_temp.rnd('ps/' || f.i || '/2') < 0.5))
   OR (p.id = 3 AND (f.type >= 3 OR pg_temp.rnd('ps/' || f.i || '/3') < 0.35))
   OR (p.id = 4 AND pg_temp.rnd('ps/' || f.i || '/4') < 0.6)
   OR (p.id = 5 AND f.type >= 2 AND pg_temp.rnd('ps/' || f.i || '/5') < 0.7);

INSERT INTO losses_adjustments_types (name, description, additive, displayorder, createddate, isdefault, category)
SELECT name, descr, additive, n, setup, true, category
FROM cfg, (VALUES (1, 'TRANSFER_IN', 'Transfer In', true, 'Transfer'),
                  (2, 'TRANSFER_OUT', 'Transfer Out', false, 'Transfer'),
                  (3, 'DAMAGED', 'Damaged', false, 'Adjustment'),
                  (4, 'LOST', 'Lost', false, 'Adjustment'),
                  (5, 'STOLEN', 'Stolen', false, 'adjustment'),
                  (6, 'EXPIRED', 'Expired', false, NULL),
                  (7, 'PASSED_OPEN_VIAL_TIME_LIMIT', 'Passed Open-Vial Time Limit', false, 'Adjustment'),
                  (8, 'COLD_CHAIN_FAILURE', 'Cold Chain Failure', false, 'Adjustment'),
                  (9, 'CLINIC_RETURN', 'Clinic Return', true, 'Physical_Inventory'),
                  (10, 'FOUND', '', true, 'Physical Inventory')) t(n, name, descr, additive, category);

-- Requisitions ------------------------------------------------------------------
-- One regular requisition per supported program and past period of its
-- schedule (88% of them reported), plus some emergency ones. The final status
-- depends on the period's age; the path of status changes leads to it.
CREATE TEMP TABLE rq0 AS
SELECT f.i AS facility, ps.programid AS program, per.id AS period, false AS emergency, per.enddate,
       (date_part('year', age(c.today, per.enddate::date)) * 12 + date_part('month', age(c.today, per.enddate::date)))::int AS age,
       f.region, f.type
FROM fac f JOIN programs_supported ps ON ps.facilityid = f.i
     JOIN requisition_group_program_schedules gs ON gs.requisitiongroupid = 100 + f.region AND gs.programid = ps.programid
     JOIN processing_periods per ON per.scheduleid = gs.scheduleid, cfg c
WHERE per.enddate < c.today - 19
  AND pg_temp.rnd('rep/' || f.i || '/' || ps.programid || '/' || per.id) < 0.88;
INSERT INTO rq0
SELECT facility, program, period, true, enddate, age, region, type FROM rq0
WHERE pg_temp.rnd('emer/' || facility || '/' || program || '/' || period) < 0.03 AND age >= 1;

CREATE TEMP TABLE rq AS
SELECT row_number() OVER (ORDER BY period, facility, program, emergency) AS id, r.*,
       pg_temp.rnd('st/' || facility || '/' || program || '/' || period || '/' || emergency) AS u,
       pg_temp.rnd('rej/' || facility || '/' || program || '/' || period || '/' || emergency) < 0.08 AS rejected,
       pg_temp.rnd('auth/' || facility || '/' || program || '/' || period || '/' || emergency) AS ua
FROM rq0 r;
ALTER TABLE rq ADD COLUMN status text, ADD COLUMN path text[], ADD COLUMN t_auth timestamp;
UPDATE rq SET status = CASE
    WHEN program IN (4, 5) AND NOT emergency AND u < 0.04 THEN 'SKIPPED'
    WHEN emergency THEN CASE WHEN age <= 1 THEN 'APPROVED' ELSE 'RELEASED' END
    WHEN age <= 1 THEN CASE WHEN u < 0.25 THEN 'INITIATED' WHEN u < 0.45 THEN 'SUBMITTED' WHEN u < 0.70 THEN 'AUTHORIZED'
                            WHEN u < 0.90 THEN 'IN_APPROVAL' ELSE 'APPROVED' END
    WHEN age <= 3 THEN CASE WHEN u < 0.10 THEN 'AUTHORIZED' WHEN u < 0.25 THEN 'IN_APPROVAL' WHEN u < 0.50 THEN 'APPROVED'
                            WHEN u < 0.90 THEN 'RELEASED' ELSE 'RELEASED_NO_ORDER' END
    ELSE CASE WHEN u < 0.05 THEN 'APPROVED' WHEN u < 0.85 THEN 'RELEASED' ELSE 'RELEASED_NO_ORDER' END
  END;
-- A rejection goes back to INITIATED: a requisition still INITIATED in the
-- current month was often rejected once; older ones went round again.
UPDATE rq SET rejected = true WHERE status = 'INITIATED' AND u < 0.10;
UPDATE rq SET path =
  (CASE WHEN rejected AND status <> 'SKIPPED' THEN ARRAY['INITIATED', 'SUBMITTED', 'AUTHORIZED'] ELSE '{}' END) ||
  CASE status
    WHEN 'INITIATED' THEN ARRAY['INITIATED']
    WHEN 'SUBMITTED' THEN ARRAY['INITIATED', 'SUBMITTED']
    WHEN 'AUTHORIZED' THEN ARRAY['INITIATED', 'SUBMITTED', 'AUTHORIZED']
    WHEN 'IN_APPROVAL' THEN ARRAY['INITIATED', 'SUBMITTED', 'AUTHORIZED', 'IN_APPROVAL']
    WHEN 'APPROVED' THEN ARRAY['INITIATED', 'SUBMITTED', 'AUTHORIZED', 'IN_APPROVAL', 'APPROVED']
    WHEN 'SKIPPED' THEN ARRAY['INITIATED', 'SKIPPED']
    ELSE ARRAY['INITIATED', 'SUBMITTED', 'AUTHORIZED', 'IN_APPROVAL', 'APPROVED', status]
  END;
-- Authorization: 62% within 10 days of the period's end (on time), 18% 11-14
-- days (late), the rest 16-45 days (after the late limit). Emergencies mid-period.
UPDATE rq SET t_auth = enddate::date
  + CASE WHEN emergency THEN -12 - floor(ua * 5)::int
         WHEN ua < 0.62 THEN 1 + floor(ua / 0.62 * 9)::int
         WHEN ua < 0.80 THEN 11 + floor((ua - 0.62) / 0.18 * 4)::int
         ELSE 16 + floor((ua - 0.80) / 0.20 * 30)::int END
  + interval '8 hours' + (floor(pg_temp.rnd('authh/' || id) * 32400) || ' seconds')::interval;

-- Status changes: steps before the (last) authorization 5 hours apart, after it 2 days apart.
CREATE TEMP TABLE sc AS
SELECT row_number() OVER (ORDER BY rq.id, s.j) AS id, rq.id AS rnrid, s.status, s.j,
       rq.t_auth + (s.j - coalesce((SELECT max(k) FROM unnest(rq.path) WITH ORDINALITY a(st, k) WHERE st = 'AUTHORIZED'), 3))
                   * CASE WHEN s.j < coalesce((SELECT max(k) FROM unnest(rq.path) WITH ORDINALITY a(st, k) WHERE st = 'AUTHORIZED'), 3)
                          THEN interval '5 hours' ELSE interval '2 days' END
         + (s.j * 7 || ' minutes')::interval AS at,
       CASE WHEN s.status IN ('IN_APPROVAL', 'APPROVED') THEN 100 + rq.region
            WHEN s.status IN ('RELEASED', 'RELEASED_NO_ORDER') THEN 2 ELSE 1000 + rq.facility END AS who
FROM rq, unnest(rq.path) WITH ORDINALITY s(status, j);

INSERT INTO requisitions (id, facilityid, programid, periodid, status, emergency, fullsupplyitemssubmittedcost,
                          nonfullsupplyitemssubmittedcost, supervisorynodeid, createdby, createddate, modifiedby,
                          modifieddate, allocatedbudget, clientsubmittedtime, clientsubmittednotes)
SELECT rq.id, rq.facility, rq.program, rq.period, rq.status, rq.emergency, NULL, NULL,
       CASE WHEN rq.status IN ('AUTHORIZED') THEN 100 + rq.region
            WHEN rq.status IN ('IN_APPROVAL', 'APPROVED', 'RELEASED', 'RELEASED_NO_ORDER') THEN 1 END,
       1000 + rq.facility, t.first, 1000 + rq.facility, t.last,
       CASE WHEN rq.program = 2 AND rq.status NOT IN ('INITIATED', 'SKIPPED') THEN 5000000.00 END,
       CASE WHEN pg_temp.rnd('client/' || rq.id) < 0.15 AND rq.status NOT IN ('INITIATED', 'SKIPPED')
            THEN t.submitted - interval '2 hours' END,
       CASE WHEN pg_temp.rnd('client/' || rq.id) < 0.05 AND rq.status NOT IN ('INITIATED', 'SKIPPED') THEN 'Sent from the mobile app' END
FROM rq JOIN (SELECT rnrid, min(at) AS first, max(at) AS last, max(at) FILTER (WHERE status = 'SUBMITTED') AS submitted
              FROM sc GROUP BY rnrid) t ON t.rnrid = rq.id
ORDER BY rq.id;

INSERT INTO requisition_status_changes (id, rnrid, status, createdby, createddate, modifiedby, modifieddate, username)
SELECT sc.id, sc.rnrid, sc.status, sc.who, sc.at, sc.who, sc.at, u.username
FROM sc JOIN users u ON u.id = sc.who ORDER BY sc.id;

-- Line items: the program's products approved for the facility's type, a
-- deterministic pick of 12-19 (ILS) or 5-9 (others; 3 in an emergency).
CREATE TEMP TABLE li AS
SELECT row_number() OVER (ORDER BY c.rnrid, c.pick) AS id, c.*
FROM (SELECT rq.id AS rnrid, rq.status, rq.emergency, pp.id AS ppid, p.id AS productid,
             coalesce(pp.fullsupply, p.fullsupply) AS fullsupply, fap.maxmonthsofstock,
             row_number() OVER (PARTITION BY rq.id ORDER BY pg_temp.rnd('pick/' || rq.id || '/' || pp.id), pp.id) AS pick,
             CASE WHEN rq.emergency THEN 3 WHEN rq.program = 1 THEN pg_temp.irnd('nl/' || rq.id, 12, 19)
                  ELSE pg_temp.irnd('nl/' || rq.id, 5, 9) END AS nlines
      FROM rq JOIN program_products pp ON pp.programid = rq.program
           JOIN facility_approved_products fap ON fap.programproductid = pp.id AND fap.facilitytypeid = rq.type
           JOIN products p ON p.id = pp.productid) c
WHERE c.pick <= c.nlines;
ALTER TABLE li ADD COLUMN skipped boolean, ADD COLUMN amc int, ADD COLUMN bb int, ADD COLUMN rec int, ADD COLUMN disp int;
UPDATE li SET skipped = (status <> 'SKIPPED' AND pg_temp.rnd('skip/' || id) < 0.04) OR status = 'SKIPPED',
              amc = 10 + floor(pg_temp.rnd('amc/' || id) ^ 2 * 400)::int;
UPDATE li SET bb = CASE WHEN pg_temp.rnd('bb0/' || id) < 0.06 THEN 0 ELSE floor(amc * (0.3 + 2.5 * pg_temp.rnd('bb/' || id)))::int END,
              rec = CASE WHEN pg_temp.rnd('rec0/' || id) < 0.15 THEN 0 ELSE floor(amc * 2 * pg_temp.rnd('rec/' || id))::int END;
UPDATE li SET disp = least(bb + rec, floor(amc * (0.6 + 0.8 * pg_temp.rnd('disp/' || id)))::int);

-- Losses and adjustments: 15% of the counted lines have one, 4% two.
CREATE TEMP TABLE adj AS
SELECT li.id AS lineid, t.name AS type,
       CASE WHEN pg_temp.rnd('aqn/' || li.id || '/' || k) < 0.01 THEN NULL
            ELSE 1 + floor(pg_temp.rnd('aq/' || li.id || '/' || k) * (1 + li.amc / 4))::int END AS quantity,
       t.additive
FROM li, generate_series(1, 2) k,
     LATERAL (SELECT name, additive FROM losses_adjustments_types
              ORDER BY abs(displayorder - (1 + floor(pg_temp.rnd('at/' || li.id || '/' || k) ^ 1.5 * 10))::int), name
              LIMIT 1) t
WHERE li.fullsupply AND NOT li.skipped
  AND pg_temp.rnd('adj/' || li.id) < CASE k WHEN 1 THEN 0.15 ELSE 0.04 END;
DELETE FROM adj a USING adj b WHERE a.lineid = b.lineid AND a.type = b.type AND a.ctid > b.ctid;

INSERT INTO requisition_line_items (id, rnrid, productcode, product, productdisplayorder, productcategory,
    productcategorydisplayorder, dispensingunit, beginningbalance, quantityreceived, quantitydispensed, stockinhand,
    quantityrequested, reasonforrequestedquantity, calculatedorderquantity, quantityapproved, totallossesandadjustments,
    newpatientcount, stockoutdays, normalizedconsumption, amc, maxmonthsofstock, maxstockquantity, packstoship, price,
    expirationdate, remarks, dosespermonth, dosesperdispensingunit, packsize, roundtozero, packroundingthreshold,
    fullsupply, skipped, reportingdays, createdby, createddate, modifiedby, modifieddate,
    previousnormalizedconsumptions, previousstockinhand, periodnormalizedconsumption)
SELECT x.id, x.rnrid, p.code, p.primaryname, pp.displayorder, pc.name, pc.displayorder, p.dispensingunit,
       x.bb, x.rec, x.disp, x.soh, x.requested,
       CASE WHEN x.requested IS NOT NULL THEN (ARRAY['Increased patient load', 'Outreach campaign', 'Stock out last period',
                                                     'New service started'])[1 + x.id % 4] END,
       x.calc, x.approved, x.adj, CASE WHEN r.programid = 2 AND x.counted THEN x.id % 7 END, x.stockout,
       CASE WHEN x.counted THEN round(x.disp * 30.0 / greatest(1, 30 - x.stockout))::int END,
       CASE WHEN x.counted THEN x.amc END, x.maxmonthsofstock, CASE WHEN x.counted THEN x.amc * x.maxmonthsofstock END,
       CASE WHEN x.approved IS NOT NULL THEN
         CASE WHEN x.approved = 0 THEN 0
              WHEN x.approved % p.packsize >= p.packroundingthreshold OR x.approved < p.packsize THEN ceil(x.approved::numeric / p.packsize)::int
              ELSE floor(x.approved::numeric / p.packsize)::int END END,
       pp.currentprice::numeric(15,4),
       CASE WHEN x.counted AND x.id % 9 = 0 THEN to_char(date '2026-01-01' + (x.id % 700)::int, 'MM/YYYY') END,
       CASE WHEN pg_temp.rnd('rem/' || x.id) < 0.06 THEN (ARRAY['Stock received late', 'Fridge broken for a week',
            'Counted twice, corrected', 'Donation from partner NGO'])[1 + x.id % 4] END,
       30, p.dosesperdispensingunit, p.packsize, p.roundtozero, p.packroundingthreshold, x.fullsupply, x.skipped, 30,
       r.createdby, r.createddate, r.modifiedby, r.modifieddate, '[]', NULL, NULL
FROM (SELECT li.*, li.fullsupply AND NOT li.skipped AS counted,
             CASE WHEN li.fullsupply AND NOT li.skipped THEN coalesce(a.total, 0) END AS adj,
             CASE WHEN li.fullsupply AND NOT li.skipped THEN greatest(0, li.bb + li.rec - li.disp + coalesce(a.total, 0)) END AS soh,
             CASE WHEN NOT li.fullsupply OR li.skipped THEN NULL
                  WHEN li.bb + li.rec - li.disp + coalesce(a.total, 0) <= 0 THEN pg_temp.irnd('so/' || li.id, 1, 20)
                  WHEN pg_temp.rnd('so0/' || li.id) < 0.05 THEN pg_temp.irnd('so/' || li.id, 1, 9) ELSE 0 END AS stockout,
             CASE WHEN li.fullsupply AND NOT li.skipped
                  THEN greatest(0, li.amc * li.maxmonthsofstock - greatest(0, li.bb + li.rec - li.disp + coalesce(a.total, 0))) END AS calc,
             CASE WHEN li.skipped THEN NULL
                  WHEN NOT li.fullsupply THEN li.amc * (1 + li.id % 3)
                  WHEN pg_temp.rnd('req/' || li.id) < 0.15 THEN floor(li.amc * li.maxmonthsofstock * (0.8 + 0.5 * pg_temp.rnd('reqq/' || li.id)))::int END AS requested,
             CASE WHEN li.skipped OR li.status NOT IN ('IN_APPROVAL', 'APPROVED', 'RELEASED', 'RELEASED_NO_ORDER') THEN NULL
                  ELSE floor(coalesce(CASE WHEN NOT li.fullsupply THEN li.amc * (1 + li.id % 3) END,
                                      greatest(0, li.amc * li.maxmonthsofstock - greatest(0, li.bb + li.rec - li.disp + coalesce(a.total, 0))))
                             * (0.7 + 0.3 * pg_temp.rnd('appr/' || li.id)))::int END AS approved
      FROM li LEFT JOIN (SELECT lineid, sum(CASE WHEN additive THEN quantity ELSE -quantity END)::int AS total
                         FROM adj GROUP BY lineid) a ON a.lineid = li.id) x
     JOIN requisitions r ON r.id = x.rnrid JOIN products p ON p.id = x.productid
     JOIN program_products pp ON pp.id = x.ppid JOIN product_categories pc ON pc.id = pp.productcategoryid
ORDER BY x.id;

INSERT INTO requisition_line_item_losses_adjustments (requisitionlineitemid, type, quantity, createdby, createddate,
                                                      modifiedby, modifieddate)
SELECT a.lineid, a.type, a.quantity, l.createdby, l.createddate, l.modifiedby, l.modifieddate
FROM adj a JOIN requisition_line_items l ON l.id = a.lineid ORDER BY a.lineid, a.type;

-- Submitted costs (what the facility asked for, at current prices).
UPDATE requisitions r SET fullsupplyitemssubmittedcost = c.fs, nonfullsupplyitemssubmittedcost = c.nfs
FROM (SELECT rnrid, sum(CASE WHEN fullsupply THEN coalesce(quantityrequested, calculatedorderquantity, 0) * price / packsize END)::numeric(15,2) AS fs,
             coalesce(sum(CASE WHEN NOT fullsupply THEN coalesce(quantityrequested, 0) * price / packsize END), 0)::numeric(15,2) AS nfs
      FROM requisition_line_items GROUP BY rnrid) c
WHERE c.rnrid = r.id AND r.status NOT IN ('INITIATED', 'SKIPPED');

-- The live workload goes on from here.
DO $$
DECLARE t text;
BEGIN
  FOR t IN SELECT table_name FROM information_schema.columns
           WHERE table_schema = 'public' AND column_name = 'id' AND column_default LIKE 'nextval(%' LOOP
    EXECUTE format('SELECT setval(%L, (SELECT coalesce(max(id), 0) + 1 FROM %I), false)',
                   pg_get_serial_sequence(t, 'id'), t);
  END LOOP;
END $$;
ANALYZE;
