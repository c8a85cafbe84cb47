//! The Backup and Restore page: storage configuration, backups, and the current operation.

use yew::prelude::*;

use crate::components::empty_state::EmptyState;
use crate::components::health_badge::HealthBadge;

/// The page.
#[function_component(BackupRestorePage)]
pub fn backup_restore_page() -> Html {
    html! {
        <div class="lb-page" data-testid="backup-restore">
            <h1 class="lb-title">{ "Backup and Restore" }</h1>
            <section class="lb-card" aria-labelledby="lb-storage-h">
                <h2 id="lb-storage-h">{ "Storage configuration" }</h2>
                <EmptyState
                    title="No bucket is configured."
                    hint="Configure a bucket to start backing up." />
            </section>
            <section class="lb-card" aria-labelledby="lb-backups-h">
                <h2 id="lb-backups-h">{ "Backups" }</h2>
                <EmptyState
                    title="No backups yet."
                    hint="Once a bucket is configured, select Backup Now or set a schedule." />
            </section>
            <footer class="lb-footer"><HealthBadge /></footer>
        </div>
    }
}
