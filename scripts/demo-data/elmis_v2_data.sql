-- Deterministic synthetic data in eLMIS shapes: Tanzania's four levels, a few
-- hundred facilities, programs, products, monthly periods, requisitions.
SELECT setseed(0.42);
INSERT INTO geographic_levels (code, name, levelnumber) VALUES
  ('country', 'Country', 1), ('zone', 'Zone', 2), ('region', 'Region', 3), ('district', 'District', 4);
INSERT INTO geographic_zones (code, name, levelid, parentid) VALUES ('TZ', 'Tanzania', 1, NULL);
INSERT INTO geographic_zones (code, name, levelid, parentid)
  SELECT 'Z' || g, 'Zone ' || g, 2, 1 FROM generate_series(1, 8) g;
INSERT INTO geographic_zones (code, name, levelid, parentid)
  SELECT 'R' || g, 'Region ' || g, 3, 2 + (g % 8) FROM generate_series(1, 26) g;
INSERT INTO geographic_zones (code, name, levelid, parentid)
  SELECT 'D' || g, 'District ' || g, 4, (SELECT id FROM geographic_zones WHERE code = 'R' || (1 + g % 26))
  FROM generate_series(1, 150) g;
INSERT INTO facility_types (code, name) VALUES ('hosp', 'Hospital'), ('hc', 'Health Centre'), ('disp', 'Dispensary');
INSERT INTO facilities (code, name, geographiczoneid, typeid)
  SELECT 'FAC' || lpad(g::text, 5, '0'), 'Facility ' || g,
         (SELECT id FROM geographic_zones WHERE code = 'D' || (1 + g % 150)), 1 + g % 3
  FROM generate_series(1, 400) g;
INSERT INTO programs (code, name) VALUES ('ILS', 'Integrated Logistics'), ('ARV', 'ARV'), ('TB', 'TB & Leprosy'),
  ('MAL', 'Malaria');
INSERT INTO products (code, primaryname, dispensingunit, fullsupply, packsize)
  SELECT 'P' || lpad(g::text, 4, '0'), 'Product ' || g, 'each', g % 10 <> 0, 10 + g % 90 FROM generate_series(1, 300) g;
INSERT INTO processing_periods (name, startdate, enddate, numberofmonths)
  SELECT to_char(d, 'Mon YYYY'), d, d + interval '1 month' - interval '1 second', 1
  FROM generate_series(timestamp '2024-01-01', timestamp '2025-12-01', interval '1 month') d;
INSERT INTO requisitions (facilityid, programid, periodid, status, emergency)
  SELECT f, 1 + (f + p) % 4, p, (ARRAY['INITIATED','SUBMITTED','AUTHORIZED','APPROVED','RELEASED'])[1 + (f * p) % 5],
         (f * p) % 23 = 0
  FROM generate_series(1, 400) f, generate_series(1, 12) p;
INSERT INTO requisition_line_items (rnrid, productcode, beginningbalance, quantityreceived, quantitydispensed,
    stockinhand, amc, fullsupply)
  SELECT r.id, 'P' || lpad((1 + (r.id * 7 + k) % 300)::text, 4, '0'), (random() * 500)::int, (random() * 300)::int,
         (random() * 300)::int, (random() * 500)::int, (random() * 200)::int, k % 10 <> 0
  FROM requisitions r, generate_series(1, 5) k;
ANALYZE;
