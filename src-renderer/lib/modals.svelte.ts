/** How many modal dialogs are open: page-wide keys (the Viewer's, Ctrl+Z) wait while one is. */
class ModalsStore {
  open = $state(0);
}
export const modals = new ModalsStore();
