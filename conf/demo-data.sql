-- A small Fluid data set for the demo: workspace 692 with board 1108 taking
-- Task and Bug, and the account david.burt allowed to send DevOps events.

INSERT INTO fluid.users (id, username) VALUES (7, 'david.burt');

INSERT INTO fluid.authentication_providers (provider, enabled, username)
VALUES ('devops', true, 'david.burt');

INSERT INTO fluid.workspaces (id, name) VALUES (692, 'Harbor');

INSERT INTO fluid.boards (id, workspace_id, name, devops_webhook_enabled)
VALUES (1108, 692, 'Payments', true);

INSERT INTO fluid.board_work_item_types (board_id, devops_type, card_type)
VALUES (1108, 'Task', 'task'), (1108, 'Bug', 'defect');

INSERT INTO fluid.board_members (board_id, user_id, can_create_items,
                                 can_delete_items)
VALUES (1108, 7, true, true);

-- the card that the deleted sample (work item 1038) removes
INSERT INTO fluid.cards (board_id, card_type, title, devops_work_item_id,
                         devops_project, created_by_user_id)
VALUES (1108, 'task', 'Spike: evaluate ledger archiving options', 1038,
        'Harbor', 7);
