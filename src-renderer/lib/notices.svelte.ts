/**
 * A short sentence saying what just happened ("Set tumor = yes on 12 slides", "Undone: …"), shown for a
 * few seconds in the status bar and announced politely. Errors go to the error surface, not here.
 */
class NoticeStore {
  text = $state<string | null>(null);
  private timer: ReturnType<typeof setTimeout> | null = null;

  show(text: string, ms = 4000): void {
    this.text = text;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => (this.text = null), ms);
  }
}

export const notice = new NoticeStore();
