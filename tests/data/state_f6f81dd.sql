-- A state database made by the release at commit f6f81dd (main before issue 13), through its CLI:
-- access, erasure, restriction and a held erasure run on a SQLite shop and a Parquet lake; a
-- received, an extended and a rejected request; two legal holds (one released); a sweep and its
-- dry run; a backup scan; a termination and a purge dry run; a discovery run. Master key: 32 x 'k'.
-- It has no schema version: releases before issue 13 had no migrations.
BEGIN TRANSACTION;
CREATE TABLE dsr_archives (
	path VARCHAR(600) NOT NULL, 
	archive_store VARCHAR(63) NOT NULL, 
	tenant VARCHAR(200) NOT NULL, 
	store VARCHAR(63) NOT NULL, 
	collection VARCHAR(200) NOT NULL, 
	records INTEGER NOT NULL, 
	rule VARCHAR(63) NOT NULL, 
	legal_basis TEXT NOT NULL, 
	until DATETIME NOT NULL, 
	written_at DATETIME NOT NULL, 
	deleted_at DATETIME, 
	PRIMARY KEY (path)
);
CREATE TABLE dsr_audit_events (
	seq INTEGER NOT NULL, 
	at VARCHAR(40) NOT NULL, 
	actor VARCHAR(200) NOT NULL, 
	tenant VARCHAR(200), 
	request_id INTEGER, 
	event VARCHAR(60) NOT NULL, 
	subject_refs TEXT NOT NULL, 
	details TEXT NOT NULL, 
	prev_hash VARCHAR(64) NOT NULL, 
	hash VARCHAR(64) NOT NULL, 
	PRIMARY KEY (seq)
);
INSERT INTO "dsr_audit_events" VALUES(1,'2026-11-30T09:41:30.573070','legacy-operator','globex',1,'submitted','["ae8c6890f2d5e35e89cd0eb8e087403cc8c3c73d46d2b35ce09ee72b748872ea"]','{"identity_kinds": ["email"], "type": "access"}','0000000000000000000000000000000000000000000000000000000000000000','e905c7775b7933f3a9ca41a978d6e42aa030078c1f5e620aba342cbcf593a70b');
INSERT INTO "dsr_audit_events" VALUES(2,'2026-11-30T09:41:30.573070','legacy-operator','globex',1,'verified','["ae8c6890f2d5e35e89cd0eb8e087403cc8c3c73d46d2b35ce09ee72b748872ea"]','{"from": "received"}','e905c7775b7933f3a9ca41a978d6e42aa030078c1f5e620aba342cbcf593a70b','fb2e8bc391ebbc77b01b99a36a0b17648b9f3984c40a3c7222761aadda24f48b');
INSERT INTO "dsr_audit_events" VALUES(3,'2026-11-30T09:41:32.254214','legacy-operator','globex',1,'running','["ae8c6890f2d5e35e89cd0eb8e087403cc8c3c73d46d2b35ce09ee72b748872ea"]','{"from": "verified"}','fb2e8bc391ebbc77b01b99a36a0b17648b9f3984c40a3c7222761aadda24f48b','3eafa8398588ead54658a6559bac7c4c12cd9767bdf781cc8f392481f9967d38');
INSERT INTO "dsr_audit_events" VALUES(4,'2026-11-30T09:41:33.005262','dagster','globex',1,'store_done','["ae8c6890f2d5e35e89cd0eb8e087403cc8c3c73d46d2b35ce09ee72b748872ea"]','{"deleted": 0, "exported": 6, "found": 6, "lifted": 0, "masked": 0, "residual": 0, "restricted": 0, "retained": 0, "skipped": 0, "store": "lake", "versions": 0}','3eafa8398588ead54658a6559bac7c4c12cd9767bdf781cc8f392481f9967d38','3bf416f50e6142120ca87e502df335230552ffa399f1022308816544977cfd55');
INSERT INTO "dsr_audit_events" VALUES(5,'2026-11-30T09:41:33.149494','dagster','globex',1,'store_done','["ae8c6890f2d5e35e89cd0eb8e087403cc8c3c73d46d2b35ce09ee72b748872ea"]','{"deleted": 0, "exported": 10, "found": 10, "lifted": 0, "masked": 0, "residual": 0, "restricted": 0, "retained": 0, "skipped": 0, "store": "shop", "versions": 0}','3bf416f50e6142120ca87e502df335230552ffa399f1022308816544977cfd55','8383f4077fd7d78f34dbfa68a7da2b2220b935a9de85c699ae120aeee6c89d7b');
INSERT INTO "dsr_audit_events" VALUES(6,'2026-11-30T09:41:33.262536','dagster','globex',1,'completed','["ae8c6890f2d5e35e89cd0eb8e087403cc8c3c73d46d2b35ce09ee72b748872ea"]','{"from": "running"}','8383f4077fd7d78f34dbfa68a7da2b2220b935a9de85c699ae120aeee6c89d7b','eeceacfdfbfb2e9fb098c7aab25ca64d448561ef3d1195acc24f0901133e6891');
INSERT INTO "dsr_audit_events" VALUES(7,'2026-11-30T09:41:33.477700','legacy-operator','acme',2,'submitted','["454c6ab626c29f16439b720f73781024c614eed89d360f766357c6b085bdb468", "dae7fbe74fe906eeebea9a9336c4f14aa44b27cf6e2d401732f5a0a26c256cdf"]','{"identity_kinds": ["email", "phone"], "type": "erasure"}','eeceacfdfbfb2e9fb098c7aab25ca64d448561ef3d1195acc24f0901133e6891','0fe2069ff05bc7a9e3bb90395e347fd972ffa8ae3bfcea9aa4dccadfd9976376');
INSERT INTO "dsr_audit_events" VALUES(8,'2026-11-30T09:41:33.477700','legacy-operator','acme',2,'verified','["454c6ab626c29f16439b720f73781024c614eed89d360f766357c6b085bdb468", "dae7fbe74fe906eeebea9a9336c4f14aa44b27cf6e2d401732f5a0a26c256cdf"]','{"from": "received"}','0fe2069ff05bc7a9e3bb90395e347fd972ffa8ae3bfcea9aa4dccadfd9976376','7b9f9c9008df871ce6604f755fbd938154d1fde0826c15b01dac583f57507b45');
INSERT INTO "dsr_audit_events" VALUES(9,'2026-11-30T09:41:34.135167','legacy-operator','acme',2,'running','["454c6ab626c29f16439b720f73781024c614eed89d360f766357c6b085bdb468", "dae7fbe74fe906eeebea9a9336c4f14aa44b27cf6e2d401732f5a0a26c256cdf"]','{"from": "verified"}','7b9f9c9008df871ce6604f755fbd938154d1fde0826c15b01dac583f57507b45','e75a74067a84ebf9dfa9f1f13052166d3c6e12d9fc8271e7e248a8f38bed28f5');
INSERT INTO "dsr_audit_events" VALUES(10,'2026-11-30T09:41:34.900154','dagster','acme',2,'store_done','["454c6ab626c29f16439b720f73781024c614eed89d360f766357c6b085bdb468", "dae7fbe74fe906eeebea9a9336c4f14aa44b27cf6e2d401732f5a0a26c256cdf"]','{"deleted": 6, "exported": 0, "found": 6, "lifted": 0, "masked": 0, "residual": 0, "restricted": 0, "retained": 0, "skipped": 0, "store": "lake", "versions": 0}','e75a74067a84ebf9dfa9f1f13052166d3c6e12d9fc8271e7e248a8f38bed28f5','ea1d20f51a5704714ec40d8c04cd276b9777ba35d1c7e346fe0b6a8be1444d1c');
INSERT INTO "dsr_audit_events" VALUES(11,'2026-11-30T09:41:35.074588','dagster','acme',2,'store_done','["454c6ab626c29f16439b720f73781024c614eed89d360f766357c6b085bdb468", "dae7fbe74fe906eeebea9a9336c4f14aa44b27cf6e2d401732f5a0a26c256cdf"]','{"deleted": 3, "exported": 0, "found": 11, "lifted": 0, "masked": 4, "residual": 0, "restricted": 0, "retained": 2, "skipped": 0, "store": "shop", "versions": 0}','ea1d20f51a5704714ec40d8c04cd276b9777ba35d1c7e346fe0b6a8be1444d1c','e5602a5b36a77fdc072aeb01bba716e34c11c2d999e06c9334a40edf4f394101');
INSERT INTO "dsr_audit_events" VALUES(12,'2026-11-30T09:41:35.217077','dagster','acme',2,'completed','["454c6ab626c29f16439b720f73781024c614eed89d360f766357c6b085bdb468", "dae7fbe74fe906eeebea9a9336c4f14aa44b27cf6e2d401732f5a0a26c256cdf"]','{"from": "running"}','e5602a5b36a77fdc072aeb01bba716e34c11c2d999e06c9334a40edf4f394101','96b1872ff62332dbc04eee6efb3bae701800b19d111a8a8bb996b2363c1c3330');
INSERT INTO "dsr_audit_events" VALUES(13,'2026-11-30T09:41:35.217077','dagster','acme',2,'identities_removed','["454c6ab626c29f16439b720f73781024c614eed89d360f766357c6b085bdb468", "dae7fbe74fe906eeebea9a9336c4f14aa44b27cf6e2d401732f5a0a26c256cdf"]','{}','96b1872ff62332dbc04eee6efb3bae701800b19d111a8a8bb996b2363c1c3330','4dda562969efbd6a3d27af117b24c2e6f3463eecd97cbd6e5884c4600565390c');
INSERT INTO "dsr_audit_events" VALUES(14,'2026-11-30T09:41:35.230089','dagster',NULL,NULL,'backups_scanned','[]','{"gone": 0, "new": 2, "overdue": 0, "present": 2, "store": "shop"}','4dda562969efbd6a3d27af117b24c2e6f3463eecd97cbd6e5884c4600565390c','0d4f898a1d901b4e4b0540edff3264ab00ada2af9cea76c6c6773a1e8659b2ed');
INSERT INTO "dsr_audit_events" VALUES(15,'2026-11-30T09:41:35.230089','dagster','acme',2,'awaiting_backup_ageout','["454c6ab626c29f16439b720f73781024c614eed89d360f766357c6b085bdb468", "dae7fbe74fe906eeebea9a9336c4f14aa44b27cf6e2d401732f5a0a26c256cdf"]','{"backups": 2, "holder": "request:2"}','0d4f898a1d901b4e4b0540edff3264ab00ada2af9cea76c6c6773a1e8659b2ed','93a5f958f6c50e529622a0ce7c7d663a8e379311951ef76c721d85fb1b82d35c');
INSERT INTO "dsr_audit_events" VALUES(16,'2026-11-30T09:41:35.455554','legacy-operator','globex',3,'submitted','["a4cbe4a5600095cb8d341c152ea4b90ae393380d4426c7b675c96ac46447b618"]','{"identity_kinds": ["email"], "type": "erasure"}','93a5f958f6c50e529622a0ce7c7d663a8e379311951ef76c721d85fb1b82d35c','1c5adde9437277f80d911e9c2ebe9653b0a62b534bde63a739227294e8a72d4a');
INSERT INTO "dsr_audit_events" VALUES(17,'2026-11-30T09:41:35.793227','legacy-operator','acme',4,'submitted','["f3a5061145b0dcfc4a6134b58897610dc47586b56bb0485c20e80943c30ee51c"]','{"identity_kinds": ["email"], "type": "access"}','1c5adde9437277f80d911e9c2ebe9653b0a62b534bde63a739227294e8a72d4a','e7e2a66309c69a896c6d20ad8ed6a29c0a3708abc1fe668843e0e27e18cd0897');
INSERT INTO "dsr_audit_events" VALUES(18,'2026-11-30T09:41:35.833485','legacy-operator','acme',4,'rejected','["f3a5061145b0dcfc4a6134b58897610dc47586b56bb0485c20e80943c30ee51c"]','{"from": "received", "note": "identity not verifiable"}','e7e2a66309c69a896c6d20ad8ed6a29c0a3708abc1fe668843e0e27e18cd0897','60df5911be4368ff26c47f8adce2f5f222bfe540f1670a2e5e2a0bca8819e4ad');
INSERT INTO "dsr_audit_events" VALUES(19,'2026-11-30T09:41:35.893858','legacy-operator','acme',5,'submitted','["3177c5cb9375ac020246bf5c35f87ff55723e9adc724a26d2efa2f8a84073d30"]','{"identity_kinds": ["email"], "type": "restriction"}','60df5911be4368ff26c47f8adce2f5f222bfe540f1670a2e5e2a0bca8819e4ad','5db85b34cc6b5dd4d090278bed4c947dc4b3685b73ed176ae1db49018e73e7a6');
INSERT INTO "dsr_audit_events" VALUES(20,'2026-11-30T09:41:35.893858','legacy-operator','acme',5,'verified','["3177c5cb9375ac020246bf5c35f87ff55723e9adc724a26d2efa2f8a84073d30"]','{"from": "received"}','5db85b34cc6b5dd4d090278bed4c947dc4b3685b73ed176ae1db49018e73e7a6','2577a596ac76e41aedef8c2804f0fbe3c7dc5d138617ed49d722ccfcf9894d7d');
INSERT INTO "dsr_audit_events" VALUES(21,'2026-11-30T09:41:36.477259','legacy-operator','acme',5,'running','["3177c5cb9375ac020246bf5c35f87ff55723e9adc724a26d2efa2f8a84073d30"]','{"from": "verified"}','2577a596ac76e41aedef8c2804f0fbe3c7dc5d138617ed49d722ccfcf9894d7d','176f7b46b3594985b1d5eea7f874acf9ee98c65447279c9f8712e97797718f1c');
INSERT INTO "dsr_audit_events" VALUES(22,'2026-11-30T09:41:37.154357','dagster','acme',5,'store_done','["3177c5cb9375ac020246bf5c35f87ff55723e9adc724a26d2efa2f8a84073d30"]','{"deleted": 0, "exported": 0, "found": 6, "lifted": 0, "masked": 0, "residual": 0, "restricted": 1, "retained": 0, "skipped": 0, "store": "lake", "versions": 0}','176f7b46b3594985b1d5eea7f874acf9ee98c65447279c9f8712e97797718f1c','53d9a6dff12ce5848f79aab1376af21073c3c1ef0a50d3c1c250463497e857a4');
INSERT INTO "dsr_audit_events" VALUES(23,'2026-11-30T09:41:37.301665','dagster','acme',5,'store_done','["3177c5cb9375ac020246bf5c35f87ff55723e9adc724a26d2efa2f8a84073d30"]','{"deleted": 0, "exported": 0, "found": 10, "lifted": 0, "masked": 0, "residual": 0, "restricted": 2, "retained": 0, "skipped": 0, "store": "shop", "versions": 0}','53d9a6dff12ce5848f79aab1376af21073c3c1ef0a50d3c1c250463497e857a4','a5b3a780e1e227df08ea4a4e8df93802c77d1aea362e5021fbd2b788a55cac1c');
INSERT INTO "dsr_audit_events" VALUES(24,'2026-11-30T09:41:37.415816','dagster','acme',5,'completed','["3177c5cb9375ac020246bf5c35f87ff55723e9adc724a26d2efa2f8a84073d30"]','{"from": "running"}','a5b3a780e1e227df08ea4a4e8df93802c77d1aea362e5021fbd2b788a55cac1c','83a25187a3fd21233261b3cf6a02bc24acde4e6b18a78aacfd76fdbd6413fd4e');
INSERT INTO "dsr_audit_events" VALUES(25,'2026-11-30T09:41:37.645461','legacy-operator','globex',NULL,'hold_added','["93780fe525b0bf44c71ef1ebd398ca03bce9336d25b4c3f78c89135eedde082c"]','{"hold": 1, "identity_kind": "email", "until": null}','83a25187a3fd21233261b3cf6a02bc24acde4e6b18a78aacfd76fdbd6413fd4e','4022401c9536150d059301b8ac49a1c4416f214eeb6a36ffd601a4d7efff84f8');
INSERT INTO "dsr_audit_events" VALUES(26,'2026-11-30T09:41:37.713842','legacy-operator','acme',NULL,'hold_added','[]','{"collection": "orders", "hold": 2, "store": "shop", "until": "2099-01-01T00:00:00"}','4022401c9536150d059301b8ac49a1c4416f214eeb6a36ffd601a4d7efff84f8','51b25873a5cb09d935e18ffdef6cf97dc25f37074ec49228a9eb0af026e628e4');
INSERT INTO "dsr_audit_events" VALUES(27,'2026-11-30T09:41:37.761489','legacy-operator','acme',NULL,'hold_released','[]','{"hold": 2}','51b25873a5cb09d935e18ffdef6cf97dc25f37074ec49228a9eb0af026e628e4','5263c580177a189dccfcdd88f096337d81b1db8b8fe5429b1e087a5193e71d8b');
INSERT INTO "dsr_audit_events" VALUES(28,'2026-11-30T09:41:37.832855','legacy-operator','globex',6,'submitted','["93780fe525b0bf44c71ef1ebd398ca03bce9336d25b4c3f78c89135eedde082c"]','{"identity_kinds": ["email"], "type": "erasure"}','5263c580177a189dccfcdd88f096337d81b1db8b8fe5429b1e087a5193e71d8b','e357fb139337f819f3fa5a04862eff6e747e3590b45b9755383293a0b31cde50');
INSERT INTO "dsr_audit_events" VALUES(29,'2026-11-30T09:41:37.832855','legacy-operator','globex',6,'verified','["93780fe525b0bf44c71ef1ebd398ca03bce9336d25b4c3f78c89135eedde082c"]','{"from": "received"}','e357fb139337f819f3fa5a04862eff6e747e3590b45b9755383293a0b31cde50','c98963031f6461710cb0d4b70346c9d4b26d79e8a881644efd860968f0491a25');
INSERT INTO "dsr_audit_events" VALUES(30,'2026-11-30T09:41:38.471232','legacy-operator','globex',6,'running','["93780fe525b0bf44c71ef1ebd398ca03bce9336d25b4c3f78c89135eedde082c"]','{"from": "verified"}','c98963031f6461710cb0d4b70346c9d4b26d79e8a881644efd860968f0491a25','10c4d949354359ac29025afc52376bbb4390f0758da8ffea1893ee719e4190ec');
INSERT INTO "dsr_audit_events" VALUES(31,'2026-11-30T09:41:39.327872','dagster','globex',6,'store_held','["93780fe525b0bf44c71ef1ebd398ca03bce9336d25b4c3f78c89135eedde082c"]','{"deleted": 0, "error": "deferred by legal hold 1", "exported": 0, "found": 6, "lifted": 0, "masked": 0, "residual": 0, "restricted": 0, "retained": 6, "skipped": 0, "store": "lake", "versions": 0}','10c4d949354359ac29025afc52376bbb4390f0758da8ffea1893ee719e4190ec','4af4caa65fa0fc00d9ae20181f6f1341726e9ce5dbd51947946a2c02fea7a3cf');
INSERT INTO "dsr_audit_events" VALUES(32,'2026-11-30T09:41:39.552089','dagster','globex',6,'store_held','["93780fe525b0bf44c71ef1ebd398ca03bce9336d25b4c3f78c89135eedde082c"]','{"deleted": 0, "error": "deferred by legal hold 1", "exported": 0, "found": 11, "lifted": 0, "masked": 0, "residual": 0, "restricted": 0, "retained": 11, "skipped": 0, "store": "shop", "versions": 0}','4af4caa65fa0fc00d9ae20181f6f1341726e9ce5dbd51947946a2c02fea7a3cf','39e4d189dafefd32960d6e75ad9e09e2984f2bf013b89fa72367b7f46077b923');
INSERT INTO "dsr_audit_events" VALUES(33,'2026-11-30T09:41:39.652720','dagster','globex',6,'partially_completed','["93780fe525b0bf44c71ef1ebd398ca03bce9336d25b4c3f78c89135eedde082c"]','{"from": "running", "note": "deferred by legal hold 1: runs again when released"}','39e4d189dafefd32960d6e75ad9e09e2984f2bf013b89fa72367b7f46077b923','71f1b3212d3937b4b929bf4cddc140d846e5a5500b5e5b20f953e27d131c1160');
INSERT INTO "dsr_audit_events" VALUES(34,'2026-11-30T09:41:39.834878','legacy-operator','globex',3,'due_date_extended','["a4cbe4a5600095cb8d341c152ea4b90ae393380d4426c7b675c96ac46447b618"]','{"due_at": "2027-01-30T09:41:35.455554", "reason": "complex request"}','71f1b3212d3937b4b929bf4cddc140d846e5a5500b5e5b20f953e27d131c1160','7c4ef2b0c70fe5d314e27c508dad63c88b4c87f9a2610bbc8eb0263a10d8c4ba');
INSERT INTO "dsr_audit_events" VALUES(35,'2026-11-30T09:41:39.901540','legacy-operator',NULL,NULL,'sweep_dry_run','[]','{"as_of": "2026-11-30T09:41:39.901511", "rule": null, "sweep": 1}','7c4ef2b0c70fe5d314e27c508dad63c88b4c87f9a2610bbc8eb0263a10d8c4ba','bd8f75a6be41c30052a661f9896b2874391030b57a25102015f5379febce7cac');
INSERT INTO "dsr_audit_events" VALUES(36,'2026-11-30T09:41:40.090884','legacy-operator',NULL,NULL,'sweep_started','[]','{"as_of": "2025-06-01T00:00:00", "rule": null, "sweep": 2}','bd8f75a6be41c30052a661f9896b2874391030b57a25102015f5379febce7cac','0104ef1422f0667f70d4176a28f03f71b97c7c28d973e3b94cc84f1412fe566c');
INSERT INTO "dsr_audit_events" VALUES(37,'2026-11-30T09:41:40.210715','legacy-operator',NULL,NULL,'sweep_rule','[]','{"action": "delete", "as_of": "2025-06-01T00:00:00", "batches": 1, "changed": 4, "error": null, "expired": 5, "held_by": "[1]", "kept": 1, "longest_batch": 0.0053, "newest": "2024-04-21 09:00:00", "oldest": "2024-01-11 09:00:00", "partitions_dropped": 0, "rule": "tickets", "sweep": 2, "target": "shop.support_tickets"}','0104ef1422f0667f70d4176a28f03f71b97c7c28d973e3b94cc84f1412fe566c','5b2d3e0a5fcde005dc1b9b26430293c7ec724ef30951a21ae29873496e24931a');
INSERT INTO "dsr_audit_events" VALUES(38,'2026-11-30T09:41:40.215933','legacy-operator',NULL,NULL,'backups_scanned','[]','{"gone": 0, "new": 0, "overdue": 0, "present": 2, "store": "shop"}','5b2d3e0a5fcde005dc1b9b26430293c7ec724ef30951a21ae29873496e24931a','0271c7c5c6623ed1ed63054cdee88ca8f01dbcb6d990a0da74ce9ee172869158');
INSERT INTO "dsr_audit_events" VALUES(39,'2026-11-30T09:41:40.215933','legacy-operator',NULL,NULL,'awaiting_backup_ageout','[]','{"backups": 2, "holder": "sweep:2"}','0271c7c5c6623ed1ed63054cdee88ca8f01dbcb6d990a0da74ce9ee172869158','ec297d8d7aeed1061d73870312351d8988339d45a03dace0f3678f1b908dcbb3');
INSERT INTO "dsr_audit_events" VALUES(40,'2026-11-30T09:41:40.235484','legacy-operator',NULL,NULL,'sweep_completed','[]','{"changed": 4, "sweep": 2}','ec297d8d7aeed1061d73870312351d8988339d45a03dace0f3678f1b908dcbb3','0233e00537936830d1e05c73f3f728f3d10ec56bbbee695744f74a0ede956b1e');
INSERT INTO "dsr_audit_events" VALUES(41,'2026-11-30T09:41:40.306683','legacy-operator',NULL,NULL,'backups_scanned','[]','{"gone": 0, "new": 0, "overdue": 0, "present": 2, "store": "shop"}','0233e00537936830d1e05c73f3f728f3d10ec56bbbee695744f74a0ede956b1e','e5f107c7a2d651d181fe9e750ebda87af3e11e545d494b7d361b3718531a0e98');
INSERT INTO "dsr_audit_events" VALUES(42,'2026-11-30T09:41:40.364255','legacy-operator','globex',NULL,'tenant_terminated','[]','{"effective": "2099-01-31T00:00:00", "grace": "P30D", "purge_due": "2099-03-02T00:00:00"}','e5f107c7a2d651d181fe9e750ebda87af3e11e545d494b7d361b3718531a0e98','b04760889e5f7aea3ee444760101124a4976af9a8e66c3e7e022bf14330916e5');
INSERT INTO "dsr_audit_events" VALUES(43,'2026-11-30T09:41:43.602691','legacy-operator',NULL,NULL,'discovery_run','[]','{"gone": 2, "run": "cli-352d3db06043", "store": "shop"}','b04760889e5f7aea3ee444760101124a4976af9a8e66c3e7e022bf14330916e5','18808f9a1b4294f69a12a12a1edc5406b46e84d69d501869f4d1c2b0c7b1b037');
CREATE TABLE dsr_audit_head (
	id INTEGER NOT NULL, 
	seq INTEGER NOT NULL, 
	hash VARCHAR(64) NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "dsr_audit_head" VALUES(1,43,'18808f9a1b4294f69a12a12a1edc5406b46e84d69d501869f4d1c2b0c7b1b037');
CREATE TABLE dsr_backup_ageout (
	holder VARCHAR(40) NOT NULL, 
	request_id INTEGER, 
	state VARCHAR(30) NOT NULL, 
	since DATETIME NOT NULL, 
	PRIMARY KEY (holder)
);
INSERT INTO "dsr_backup_ageout" VALUES('request:2',2,'awaiting_backup_ageout','2026-11-30 09:41:35.230089');
INSERT INTO "dsr_backup_ageout" VALUES('sweep:2',NULL,'awaiting_backup_ageout','2026-11-30 09:41:40.215933');
CREATE TABLE dsr_backup_links (
	holder VARCHAR(40) NOT NULL, 
	backup_id INTEGER NOT NULL, 
	PRIMARY KEY (holder, backup_id), 
	FOREIGN KEY(backup_id) REFERENCES dsr_backups (id)
);
INSERT INTO "dsr_backup_links" VALUES('request:2',1);
INSERT INTO "dsr_backup_links" VALUES('request:2',2);
INSERT INTO "dsr_backup_links" VALUES('sweep:2',1);
INSERT INTO "dsr_backup_links" VALUES('sweep:2',2);
CREATE TABLE dsr_backup_scans (
	id INTEGER NOT NULL, 
	store VARCHAR(63) NOT NULL, 
	at DATETIME NOT NULL, 
	error TEXT, 
	PRIMARY KEY (id)
);
INSERT INTO "dsr_backup_scans" VALUES(1,'shop','2026-11-30 09:41:35.230089',NULL);
INSERT INTO "dsr_backup_scans" VALUES(2,'shop','2026-11-30 09:41:40.215933',NULL);
INSERT INTO "dsr_backup_scans" VALUES(3,'shop','2026-11-30 09:41:40.306683',NULL);
CREATE TABLE dsr_backups (
	id INTEGER NOT NULL, 
	store VARCHAR(63) NOT NULL, 
	name VARCHAR(600) NOT NULL, 
	taken_at DATETIME NOT NULL, 
	due_by DATETIME NOT NULL, 
	first_seen DATETIME NOT NULL, 
	gone_at DATETIME, 
	PRIMARY KEY (id), 
	UNIQUE (store, name)
);
INSERT INTO "dsr_backups" VALUES(1,'shop','shop-2026-11-01.dump','2026-11-01 00:00:00.000000','2026-12-01 00:00:00.000000','2026-11-30 09:41:35.230089',NULL);
INSERT INTO "dsr_backups" VALUES(2,'shop','shop-2026-11-20.dump','2026-11-20 00:00:00.000000','2026-12-20 00:00:00.000000','2026-11-30 09:41:35.230089',NULL);
CREATE TABLE dsr_discovery_findings (
	id INTEGER NOT NULL, 
	run VARCHAR(64) NOT NULL, 
	at VARCHAR(40) NOT NULL, 
	store VARCHAR(100) NOT NULL, 
	kind VARCHAR(20) NOT NULL, 
	path VARCHAR(500) NOT NULL, 
	detail TEXT NOT NULL, 
	category VARCHAR(60), 
	confidence FLOAT, 
	PRIMARY KEY (id)
);
INSERT INTO "dsr_discovery_findings" VALUES(1,'cli-352d3db06043','2026-11-30T09:41:43.600386','shop','gone','stores.shop.collections.order_lines.fields.gift_message','free_text no longer found in sample: kept',NULL,NULL);
INSERT INTO "dsr_discovery_findings" VALUES(2,'cli-352d3db06043','2026-11-30T09:41:43.600386','shop','gone','stores.shop.collections.returns.fields.reason','free_text no longer found in sample: kept',NULL,NULL);
CREATE TABLE dsr_holds (
	id INTEGER NOT NULL, 
	tenant VARCHAR(200) NOT NULL, 
	identity_kind VARCHAR(40), 
	identity_ref VARCHAR(64), 
	ciphertext BLOB, 
	store VARCHAR(63), 
	collection VARCHAR(200), 
	reason TEXT NOT NULL, 
	until DATETIME, 
	created_at DATETIME NOT NULL, 
	created_by VARCHAR(200) NOT NULL, 
	released_at DATETIME, 
	released_by VARCHAR(200), 
	PRIMARY KEY (id)
);
INSERT INTO "dsr_holds" VALUES(1,'globex','email','93780fe525b0bf44c71ef1ebd398ca03bce9336d25b4c3f78c89135eedde082c',X'5921C2D87A1BAF215C31AADD101ABCD8BA185983CF6B5370254977C0CB7DAC26D414AFF593694EE986A2E5',NULL,NULL,'litigation 2026-17',NULL,'2026-11-30 09:41:37.645461','legacy-operator',NULL,NULL);
INSERT INTO "dsr_holds" VALUES(2,'acme',NULL,NULL,NULL,'shop','orders','tax audit','2099-01-01 00:00:00.000000','2026-11-30 09:41:37.713842','legacy-operator','2026-11-30 09:41:37.761489','legacy-operator');
CREATE TABLE dsr_request_holds (
	request_id INTEGER NOT NULL, 
	hold_id INTEGER NOT NULL, 
	store VARCHAR(63) NOT NULL, 
	PRIMARY KEY (request_id, hold_id, store), 
	FOREIGN KEY(request_id) REFERENCES dsr_requests (id), 
	FOREIGN KEY(hold_id) REFERENCES dsr_holds (id)
);
INSERT INTO "dsr_request_holds" VALUES(6,1,'lake');
INSERT INTO "dsr_request_holds" VALUES(6,1,'shop');
CREATE TABLE dsr_request_identities (
	request_id INTEGER NOT NULL, 
	position INTEGER NOT NULL, 
	kind VARCHAR(40) NOT NULL, 
	ref VARCHAR(64) NOT NULL, 
	ciphertext BLOB, 
	PRIMARY KEY (request_id, position), 
	FOREIGN KEY(request_id) REFERENCES dsr_requests (id)
);
INSERT INTO "dsr_request_identities" VALUES(1,0,'email','ae8c6890f2d5e35e89cd0eb8e087403cc8c3c73d46d2b35ce09ee72b748872ea',X'FDD9AC4B9D0FDCEDB51F31D7850A279017CF04C63A57B493D40B495282A7A54F641CB1028D08FC2ECED4');
INSERT INTO "dsr_request_identities" VALUES(2,0,'email','454c6ab626c29f16439b720f73781024c614eed89d360f766357c6b085bdb468',NULL);
INSERT INTO "dsr_request_identities" VALUES(2,1,'phone','dae7fbe74fe906eeebea9a9336c4f14aa44b27cf6e2d401732f5a0a26c256cdf',NULL);
INSERT INTO "dsr_request_identities" VALUES(3,0,'email','a4cbe4a5600095cb8d341c152ea4b90ae393380d4426c7b675c96ac46447b618',X'E7CB13A22CA63260A925FCFA484A75D01DB982D45B2762610CC2EA7D728489CBED348F0602BF20CE77C761B2DEC4A7');
INSERT INTO "dsr_request_identities" VALUES(4,0,'email','f3a5061145b0dcfc4a6134b58897610dc47586b56bb0485c20e80943c30ee51c',X'B2BBAE8E9BB09FA9A0AA51584DE005612F72462FA84F24F0BEE084C8D5F72123BB3890426CF3F238F74CB1E867');
INSERT INTO "dsr_request_identities" VALUES(5,0,'email','3177c5cb9375ac020246bf5c35f87ff55723e9adc724a26d2efa2f8a84073d30',X'841F957AFF16E938DF968BC035FB5EA65206421D4369E6F93C50777D42E12FBECD28AEA2C6CD51B84433E085877400');
INSERT INTO "dsr_request_identities" VALUES(6,0,'email','93780fe525b0bf44c71ef1ebd398ca03bce9336d25b4c3f78c89135eedde082c',X'583B68DBFCA7EAE24D5D246E8588E97089D2B5B8F58454D710E79166777178E521BFC8F66621B114A91F6A');
CREATE TABLE dsr_request_links (
	request_id INTEGER NOT NULL, 
	link VARCHAR(400) NOT NULL, 
	ciphertext BLOB, 
	PRIMARY KEY (request_id, link), 
	FOREIGN KEY(request_id) REFERENCES dsr_requests (id)
);
INSERT INTO "dsr_request_links" VALUES(1,'shop.customers(id)',X'F5D289A1842F10D7E29E11D649257D2CACC2B451D166072C91AA969495C18DD667');
INSERT INTO "dsr_request_links" VALUES(5,'shop.customers(id)',X'F483483E57C3BE71B0DD4C29EB4C8B4CF18F6BE95DC83C2F8C82D7208E7051FDEE');
INSERT INTO "dsr_request_links" VALUES(6,'shop.customers(id)',X'FEE324285245D116D224D97784946861E4B0E01A31CBC56475445E70A95D23FFB0');
CREATE TABLE dsr_request_transitions (
	seq INTEGER NOT NULL, 
	request_id INTEGER NOT NULL, 
	at DATETIME NOT NULL, 
	actor VARCHAR(200) NOT NULL, 
	from_state VARCHAR(40), 
	to_state VARCHAR(40) NOT NULL, 
	note TEXT, 
	PRIMARY KEY (seq), 
	FOREIGN KEY(request_id) REFERENCES dsr_requests (id)
);
INSERT INTO "dsr_request_transitions" VALUES(1,1,'2026-11-30 09:41:30.573070','legacy-operator',NULL,'received',NULL);
INSERT INTO "dsr_request_transitions" VALUES(2,1,'2026-11-30 09:41:30.573070','legacy-operator','received','verified',NULL);
INSERT INTO "dsr_request_transitions" VALUES(3,1,'2026-11-30 09:41:32.254214','legacy-operator','verified','running',NULL);
INSERT INTO "dsr_request_transitions" VALUES(4,1,'2026-11-30 09:41:33.262536','dagster','running','completed',NULL);
INSERT INTO "dsr_request_transitions" VALUES(5,2,'2026-11-30 09:41:33.477700','legacy-operator',NULL,'received',NULL);
INSERT INTO "dsr_request_transitions" VALUES(6,2,'2026-11-30 09:41:33.477700','legacy-operator','received','verified',NULL);
INSERT INTO "dsr_request_transitions" VALUES(7,2,'2026-11-30 09:41:34.135167','legacy-operator','verified','running',NULL);
INSERT INTO "dsr_request_transitions" VALUES(8,2,'2026-11-30 09:41:35.217077','dagster','running','completed',NULL);
INSERT INTO "dsr_request_transitions" VALUES(9,3,'2026-11-30 09:41:35.455554','legacy-operator',NULL,'received',NULL);
INSERT INTO "dsr_request_transitions" VALUES(10,4,'2026-11-30 09:41:35.793227','legacy-operator',NULL,'received',NULL);
INSERT INTO "dsr_request_transitions" VALUES(11,4,'2026-11-30 09:41:35.833485','legacy-operator','received','rejected','identity not verifiable');
INSERT INTO "dsr_request_transitions" VALUES(12,5,'2026-11-30 09:41:35.893858','legacy-operator',NULL,'received',NULL);
INSERT INTO "dsr_request_transitions" VALUES(13,5,'2026-11-30 09:41:35.893858','legacy-operator','received','verified',NULL);
INSERT INTO "dsr_request_transitions" VALUES(14,5,'2026-11-30 09:41:36.477259','legacy-operator','verified','running',NULL);
INSERT INTO "dsr_request_transitions" VALUES(15,5,'2026-11-30 09:41:37.415816','dagster','running','completed',NULL);
INSERT INTO "dsr_request_transitions" VALUES(16,6,'2026-11-30 09:41:37.832855','legacy-operator',NULL,'received',NULL);
INSERT INTO "dsr_request_transitions" VALUES(17,6,'2026-11-30 09:41:37.832855','legacy-operator','received','verified',NULL);
INSERT INTO "dsr_request_transitions" VALUES(18,6,'2026-11-30 09:41:38.471232','legacy-operator','verified','running',NULL);
INSERT INTO "dsr_request_transitions" VALUES(19,6,'2026-11-30 09:41:39.652720','dagster','running','partially_completed','deferred by legal hold 1: runs again when released');
CREATE TABLE dsr_requests (
	id INTEGER NOT NULL, 
	tenant VARCHAR(200) NOT NULL, 
	type VARCHAR(40) NOT NULL, 
	state VARCHAR(40) NOT NULL, 
	received_at DATETIME NOT NULL, 
	due_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	probe TEXT, 
	error TEXT, 
	PRIMARY KEY (id)
);
INSERT INTO "dsr_requests" VALUES(1,'globex','access','completed','2026-11-30 09:41:30.573070','2026-12-30 09:41:30.573070','2026-11-30 09:41:33.262536',NULL,NULL);
INSERT INTO "dsr_requests" VALUES(2,'acme','erasure','completed','2026-11-30 09:41:33.477700','2026-12-30 09:41:33.477700','2026-11-30 09:41:35.217077','{"residual": 0, "stores": ["lake", "shop"]}',NULL);
INSERT INTO "dsr_requests" VALUES(3,'globex','erasure','received','2026-11-30 09:41:35.455554','2027-01-30 09:41:35.455554','2026-11-30 09:41:39.834878',NULL,NULL);
INSERT INTO "dsr_requests" VALUES(4,'acme','access','rejected','2026-11-30 09:41:35.793227','2026-12-30 09:41:35.793227','2026-11-30 09:41:35.833485',NULL,'identity not verifiable');
INSERT INTO "dsr_requests" VALUES(5,'acme','restriction','completed','2026-11-30 09:41:35.893858','2026-12-30 09:41:35.893858','2026-11-30 09:41:37.415816',NULL,NULL);
INSERT INTO "dsr_requests" VALUES(6,'globex','erasure','partially_completed','2026-11-30 09:41:37.832855','2026-12-30 09:41:37.832855','2026-11-30 09:41:39.652720','{"residual": 0, "stores": ["lake", "shop"]}','deferred by legal hold 1: runs again when released');
CREATE TABLE dsr_restrictions (
	request_id INTEGER NOT NULL, 
	store VARCHAR(63) NOT NULL, 
	collection VARCHAR(200) NOT NULL, 
	covered BLOB NOT NULL, 
	previous BLOB NOT NULL, 
	records INTEGER NOT NULL, 
	lifted_by INTEGER, 
	lifted_at DATETIME, 
	PRIMARY KEY (request_id, store, collection), 
	FOREIGN KEY(request_id) REFERENCES dsr_requests (id)
);
INSERT INTO "dsr_restrictions" VALUES(5,'lake','events',X'1F4218DB138F6B5273B8069DDFEBC0839474D72280CB316CF48AEB40CFB491A11AD8BBA287DC0C14E2DF455BD4FF853CC1B95C3B104FBE4667B878075974CD0D4A8F1673EA528878294075473EB5A87324E8973A8B6616602D2760B4A9E4FFC4598632F7F81964375DB8208A2CC0517ACB65AC23C795E3E4A658F93D237DE08DE30D56ECD2B805C08DDE28071BE44AECCA9A1443E404382BC7DECE31FC89AD84CD901B64912D79E00C5997DB89B48765DBAEE6D349510B4E5CFD776A9B28BE0A10F364E4D17285AD63BE87C6BB0C170644FA0B4F83F7CC8E7E2679989B34EA5AA0AC47CF6BC16F381C64DF3CA2E71871F3C098298F920F8EDE3E259EF6F18BF068F97479624C2B010D48FBD86DBBBE1452F80BE558E50AD9A2867D8929F49095B465E20C89213F701E3FC545CCBCC1F4DC4D620642261B4E144341C1EB0860347C74CDE7',X'BB3799F68D5FF1BE24CAD5E5E567936A4BCF719BF75EE845C3B377E1E89CB9867138D46CC9C752DF7F598AC9733C07E221CF22E30FCFE481DD0495777B4F4F6A9A4130C38DC2DF3FA9371AE8EB8B9EAE2E01CDAA1D64C9DC6487A9F3E01120E92B7DAF4AE38ED32914AEFC91978FA71125205D02925A7DA5AB247A5FAE8317C7FDC95FD88CAB186F803522678B33BEF0FEB504902FBA468CFC6431D5FD3A4FA4222F851BE64ECEA2B23DC265',1,NULL,NULL);
INSERT INTO "dsr_restrictions" VALUES(5,'shop','customers',X'20ED5ECF19779C0864CD1E909F1E2E80F81C2E8C7FD668D1DAEBD8A34861ABC18BC3B4B82D248F99AC7E1095A4D948F5B8A97554C8B49BD2A84618E91BD7FAE9B0625287666E8C56305C3505C0E909C91505E44F5BBBD149162624C8CAD0B4AD057B413043BF83C9F8FA8BAD4A196F4508C7E0D2928C87D7DD57E4986FC4DCE2E425CB85D9C5DA6DD557AB2CDBE7CB8AF10CC384F8921C50408637BB36CF47EA2180132CC27715A6FBC264C77598A39D2A04A6349EEA8048740ECD0BDB6D40FE6F25EC86FA6F1C5737FE17CCBD0D7D1F4E8431EA55A5BE3D32DDDA85C01D4DFE68B3A164EA8D0946149EC68C7CFA473A89883BB3548F754A4B0CB1E6065CAC5BA25EF443D8D5EBB7E0AC6FD896D5B21E316A5B37B12ED76A68FAF2D3C2FFB2A798CA6404C8FA9B172685BF8846E2C28A369181C408B2104A73AE035F',X'24CEB2375D2CE4B6D16EC84FFADB6355ADEEC3C4C8F22E7FDF0165DF35FBA72B54F1D88F95B2DE181F1CCEC998375F73EBBB063C3C2CD96949910269FE91ABF69BDAA7DBE746FD040901F2BB67BAEF37215CE04904F38A586AB0F05852C843AB9C19CF76FDD1AB8E1396B1CF272F2216EAD5CCF5F5FA9B9418A25603ACB6A102DEB44A5D5FA36D57493B700D4814F2F29BA2D4DE24E165158ED37F25',1,NULL,NULL);
INSERT INTO "dsr_restrictions" VALUES(5,'shop','support_tickets',X'DAC67D7C9733C2F72B889567EC5899C05DF0C434C3ECF1C1271152810EC19BBB46176E10B0C8B1E49534FBB17F873BF26384DD83E7544D039167FE27195381863157C7EA5C14A458B1183F857D073D3E06623AD829ADAE9CFAEAEF9406366A3481855A7F6AFAD43F0BC0803588507FADCB0E46D9D204AE2D6B6DF7EF088E4B3F82C63B5878F45F8577985F19719048BD0C89A35896774607FBC6993345C7E096EE97C96D0905693228E60AA5F401DB546673BCEEB3BE9D708FEE8CBD6F1055A12D207698060294481722297D8447F9C617F070663D66071831D483077F0873C5F809167F53BF3147AB9C850BBB63181150DC143C0248800125CACB2837B5C73699E86DCA4C35F983806E2828BADB7A7B8CFC28586613BCC39AB3A4FC0165ECAD00CE6BB15B53644A4FE7F66C375F5817F98541D050BE8133C069BA91',X'D52C04660C085617BB0BF2BE69343B1073FA4AA9500FCD5A0DAB31C1B22B057EF204CB48AAACA79D587C821969FC6A87E1E47B63BCEC6FFE075AA9FFD9F9E54478B1BDF3317E915ACDB570C8B0AD4887FF9FED802CFEF649001D1107E5BD5B560082D98D201716DE3353F5C022005BEA8E3D379950C3F29BC7CB875AFE8538169A9EFD43A430BB28EA7E23E7BC72526E0449345E6A06DCC57DD2C404',1,NULL,NULL);
CREATE TABLE dsr_results (
	request_id INTEGER NOT NULL, 
	store VARCHAR(63) NOT NULL, 
	collection VARCHAR(200) NOT NULL, 
	found INTEGER NOT NULL, 
	exported INTEGER NOT NULL, 
	deleted INTEGER NOT NULL, 
	masked INTEGER NOT NULL, 
	retained INTEGER NOT NULL, 
	residual INTEGER NOT NULL, 
	skipped INTEGER NOT NULL, 
	versions INTEGER NOT NULL, 
	restricted INTEGER NOT NULL, 
	lifted INTEGER NOT NULL, 
	reason TEXT, 
	PRIMARY KEY (request_id, store, collection), 
	FOREIGN KEY(request_id) REFERENCES dsr_requests (id)
);
INSERT INTO "dsr_results" VALUES(1,'lake','events',6,6,0,0,0,0,0,0,0,0,NULL);
INSERT INTO "dsr_results" VALUES(1,'shop','addresses',2,2,0,0,0,0,0,0,0,0,NULL);
INSERT INTO "dsr_results" VALUES(1,'shop','customers',1,1,0,0,0,0,0,0,0,0,NULL);
INSERT INTO "dsr_results" VALUES(1,'shop','order_lines',4,4,0,0,0,0,0,0,0,0,NULL);
INSERT INTO "dsr_results" VALUES(1,'shop','orders',2,2,0,0,0,0,0,0,0,0,NULL);
INSERT INTO "dsr_results" VALUES(1,'shop','support_tickets',1,1,0,0,0,0,0,0,0,0,NULL);
INSERT INTO "dsr_results" VALUES(2,'lake','events',6,0,6,0,0,0,0,0,0,0,NULL);
INSERT INTO "dsr_results" VALUES(2,'shop','addresses',2,0,2,0,0,0,0,0,0,0,NULL);
INSERT INTO "dsr_results" VALUES(2,'shop','returns',1,0,1,0,0,0,0,0,0,0,NULL);
INSERT INTO "dsr_results" VALUES(2,'shop','order_lines',4,0,0,2,0,0,0,0,0,0,NULL);
INSERT INTO "dsr_results" VALUES(2,'shop','orders',2,0,0,0,2,0,0,0,0,0,'tax law: invoices kept 10 years');
INSERT INTO "dsr_results" VALUES(2,'shop','support_tickets',1,0,0,1,0,0,0,0,0,0,NULL);
INSERT INTO "dsr_results" VALUES(2,'shop','customers',1,0,0,1,0,0,0,0,0,0,'still referenced by rows that are kept: masked instead of deleted');
INSERT INTO "dsr_results" VALUES(5,'lake','events',6,0,0,0,0,0,0,0,1,0,'marked by _restricted/events');
INSERT INTO "dsr_results" VALUES(5,'shop','addresses',2,0,0,0,0,0,0,0,0,0,'restricted through customers');
INSERT INTO "dsr_results" VALUES(5,'shop','customers',1,0,0,0,0,0,0,0,1,0,'marked by restricted');
INSERT INTO "dsr_results" VALUES(5,'shop','order_lines',4,0,0,0,0,0,0,0,0,0,'restricted through customers');
INSERT INTO "dsr_results" VALUES(5,'shop','orders',2,0,0,0,0,0,0,0,0,0,'restricted through customers');
INSERT INTO "dsr_results" VALUES(5,'shop','support_tickets',1,0,0,0,0,0,0,0,1,0,'marked by restricted');
INSERT INTO "dsr_results" VALUES(6,'lake','events',6,0,0,0,6,0,0,0,0,0,'legal hold 1');
INSERT INTO "dsr_results" VALUES(6,'shop','addresses',2,0,0,0,2,0,0,0,0,0,'legal hold 1');
INSERT INTO "dsr_results" VALUES(6,'shop','returns',1,0,0,0,1,0,0,0,0,0,'legal hold 1');
INSERT INTO "dsr_results" VALUES(6,'shop','order_lines',4,0,0,0,4,0,0,0,0,0,'legal hold 1');
INSERT INTO "dsr_results" VALUES(6,'shop','orders',2,0,0,0,2,0,0,0,0,0,'legal hold 1');
INSERT INTO "dsr_results" VALUES(6,'shop','support_tickets',1,0,0,0,1,0,0,0,0,0,'legal hold 1');
INSERT INTO "dsr_results" VALUES(6,'shop','customers',1,0,0,0,1,0,0,0,0,0,'legal hold 1');
CREATE TABLE dsr_skipped (
	seq INTEGER NOT NULL, 
	request_id INTEGER NOT NULL, 
	store VARCHAR(63) NOT NULL, 
	collection VARCHAR(200) NOT NULL, 
	item BLOB NOT NULL, 
	reason TEXT NOT NULL, 
	PRIMARY KEY (seq), 
	FOREIGN KEY(request_id) REFERENCES dsr_requests (id)
);
CREATE TABLE dsr_store_runs (
	request_id INTEGER NOT NULL, 
	store VARCHAR(63) NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	error TEXT, 
	finished_at DATETIME NOT NULL, 
	PRIMARY KEY (request_id, store), 
	FOREIGN KEY(request_id) REFERENCES dsr_requests (id)
);
INSERT INTO "dsr_store_runs" VALUES(1,'lake','done',NULL,'2026-11-30 09:41:33.005262');
INSERT INTO "dsr_store_runs" VALUES(1,'shop','done',NULL,'2026-11-30 09:41:33.149494');
INSERT INTO "dsr_store_runs" VALUES(2,'lake','done',NULL,'2026-11-30 09:41:34.900154');
INSERT INTO "dsr_store_runs" VALUES(2,'shop','done',NULL,'2026-11-30 09:41:35.074588');
INSERT INTO "dsr_store_runs" VALUES(5,'lake','done',NULL,'2026-11-30 09:41:37.154357');
INSERT INTO "dsr_store_runs" VALUES(5,'shop','done',NULL,'2026-11-30 09:41:37.301665');
INSERT INTO "dsr_store_runs" VALUES(6,'lake','held','deferred by legal hold 1','2026-11-30 09:41:39.327872');
INSERT INTO "dsr_store_runs" VALUES(6,'shop','held','deferred by legal hold 1','2026-11-30 09:41:39.552089');
CREATE TABLE dsr_sweep_results (
	sweep_id INTEGER NOT NULL, 
	rule VARCHAR(63) NOT NULL, 
	target VARCHAR(300) NOT NULL, 
	expired INTEGER NOT NULL, 
	kept INTEGER NOT NULL, 
	changed INTEGER NOT NULL, 
	oldest DATETIME, 
	newest DATETIME, 
	batches INTEGER NOT NULL, 
	longest_batch FLOAT NOT NULL, 
	partitions_dropped INTEGER NOT NULL, 
	held_by TEXT, 
	error TEXT, 
	PRIMARY KEY (sweep_id, rule, target), 
	FOREIGN KEY(sweep_id) REFERENCES dsr_sweeps (id)
);
INSERT INTO "dsr_sweep_results" VALUES(1,'tickets','shop.support_tickets',19,2,0,'2024-01-11 09:00:00.000000','2025-10-28 09:00:00.000000',0,0.0,0,'[1]',NULL);
INSERT INTO "dsr_sweep_results" VALUES(2,'tickets','shop.support_tickets',5,1,4,'2024-01-11 09:00:00.000000','2024-04-21 09:00:00.000000',1,0.0053,0,'[1]',NULL);
CREATE TABLE dsr_sweeps (
	id INTEGER NOT NULL, 
	run_key VARCHAR(200), 
	as_of DATETIME NOT NULL, 
	rule VARCHAR(63), 
	dry_run BOOLEAN NOT NULL, 
	state VARCHAR(20) NOT NULL, 
	actor VARCHAR(200) NOT NULL, 
	started_at DATETIME NOT NULL, 
	finished_at DATETIME, 
	PRIMARY KEY (id), 
	UNIQUE (run_key)
);
INSERT INTO "dsr_sweeps" VALUES(1,NULL,'2026-11-30 09:41:39.901511',NULL,1,'completed','legacy-operator','2026-11-30 09:41:39.901540','2026-11-30 09:41:40.020336');
INSERT INTO "dsr_sweeps" VALUES(2,NULL,'2025-06-01 00:00:00.000000',NULL,0,'completed','legacy-operator','2026-11-30 09:41:40.090884','2026-11-30 09:41:40.235484');
CREATE TABLE dsr_terminations (
	tenant VARCHAR(200) NOT NULL, 
	effective_at DATETIME NOT NULL, 
	grace VARCHAR(40), 
	due_at DATETIME NOT NULL, 
	state VARCHAR(20) NOT NULL, 
	terminated_at DATETIME NOT NULL, 
	terminated_by VARCHAR(200) NOT NULL, 
	purged_at DATETIME, 
	PRIMARY KEY (tenant)
);
INSERT INTO "dsr_terminations" VALUES('globex','2099-01-31 00:00:00.000000','P30D','2099-03-02 00:00:00.000000','terminated','2026-11-30 09:41:40.364255','legacy-operator',NULL);
CREATE TABLE dsr_tombstone_check (
	id INTEGER NOT NULL, 
	"check" VARCHAR(64) NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "dsr_tombstone_check" VALUES(1,'1dcfb1ba9738311925f2f383b6f2751cc69f8db5f4eb355203da8ee82324804a');
CREATE TABLE dsr_tombstones (
	store VARCHAR(63) NOT NULL, 
	collection VARCHAR(200) NOT NULL, 
	digest VARCHAR(64) NOT NULL, 
	action VARCHAR(10) NOT NULL, 
	request_id INTEGER NOT NULL, 
	PRIMARY KEY (store, collection, digest)
);
INSERT INTO "dsr_tombstones" VALUES('shop','addresses','ab3217dff52ff997205654422a30d712199789a8337b642b493cb9f8db5dac66','delete',2);
INSERT INTO "dsr_tombstones" VALUES('shop','addresses','bf827c845663b3da56f7918a9e94cdf3cb8dd843a03bebbd311f9286bdf47caf','delete',2);
INSERT INTO "dsr_tombstones" VALUES('shop','returns','1e0b748c256b544e3a8bee85e602420db5b9d593338a466ebccb958dc87aa076','delete',2);
INSERT INTO "dsr_tombstones" VALUES('shop','order_lines','7bf8e6f114cd80494b4cb4f430f71acd422b013a07d789aacf1883a6aa0f9c0e','mask',2);
INSERT INTO "dsr_tombstones" VALUES('shop','order_lines','92413f65f25446e7642b86585910a1814e2ce05411581d90be846648ab94ea20','mask',2);
INSERT INTO "dsr_tombstones" VALUES('shop','support_tickets','fd74f4a144a06b0f9c2e56eb11e12b07bc65b66c8f731c809d72210931a2a3c7','mask',2);
INSERT INTO "dsr_tombstones" VALUES('shop','customers','fd74f4a144a06b0f9c2e56eb11e12b07bc65b66c8f731c809d72210931a2a3c7','mask',2);
CREATE INDEX ix_dsr_requests_tenant ON dsr_requests (tenant);
CREATE INDEX ix_dsr_requests_state ON dsr_requests (state);
CREATE INDEX ix_dsr_backup_scans_store ON dsr_backup_scans (store);
CREATE INDEX ix_dsr_holds_tenant ON dsr_holds (tenant);
CREATE INDEX ix_dsr_holds_identity_ref ON dsr_holds (identity_ref);
CREATE INDEX ix_dsr_discovery_findings_store_run ON dsr_discovery_findings (store, run);
CREATE INDEX ix_dsr_archives_tenant ON dsr_archives (tenant);
CREATE INDEX ix_dsr_request_identities_ref ON dsr_request_identities (ref);
CREATE INDEX ix_dsr_request_transitions_request_id ON dsr_request_transitions (request_id);
CREATE INDEX ix_dsr_skipped_request_id ON dsr_skipped (request_id);
COMMIT;
