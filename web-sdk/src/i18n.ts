// Texts of the customer widget and the advisor console, German and English.
export type Lang = "de" | "en";

export const texts = {
  title: ["Beratung", "Advice session"],
  join_intro: ["Ihr Berater erwartet Sie. Bitte geben Sie Ihren Namen ein und wählen Sie, was Sie teilen möchten.", "Your advisor is expecting you. Enter your name and choose what you want to share."],
  your_name: ["Ihr Name", "Your name"],
  share_camera: ["Kamera", "Camera"],
  share_microphone: ["Mikrofon", "Microphone"],
  share_page: ["Diese Seite mit dem Berater teilen (Eingaben in geschützten Feldern bleiben verborgen)", "Share this page with the advisor (input in protected fields stays hidden)"],
  consent_terms: ["Ich bin mit der Durchführung der Beratung und der Protokollierung des Gesprächs einverstanden.", "I agree to the advice session and to the conversation being recorded."],
  join: ["Beitreten", "Join"],
  code_intro: ["Geben Sie den 6-stelligen Code ein, den Ihnen Ihr Berater genannt hat.", "Enter the 6-digit code your advisor gave you."],
  code: ["Code", "Code"],
  continue: ["Weiter", "Continue"],
  waiting: ["Bitte einen Moment – Ihr Berater lässt Sie gleich eintreten.", "One moment please – your advisor will let you in shortly."],
  admitted: ["Sie sind im Gespräch.", "You are in the session."],
  chat: ["Chat", "Chat"],
  message: ["Nachricht", "Message"],
  send: ["Senden", "Send"],
  leave: ["Verlassen", "Leave"],
  minimise: ["Minimieren", "Minimise"],
  restore: ["Beratung öffnen", "Open session"],
  close: ["Schließen", "Close"],
  typing: ["schreibt …", "is typing …"],
  ended: ["Das Gespräch ist beendet. Vielen Dank!", "The session has ended. Thank you!"],
  removed: ["Der Berater hat das Gespräch für Sie beendet.", "The advisor has ended the session for you."],
  left: ["Sie haben das Gespräch verlassen.", "You left the session."],
  reconnecting: ["Verbindung unterbrochen – wird wiederhergestellt …", "Connection lost – reconnecting …"],
  advisor_left: ["Ihr Berater hat das Gespräch verlassen.", "Your advisor has left the session."],
  err_link_expired: ["Dieser Link ist abgelaufen. Bitte bitten Sie Ihren Berater um einen neuen.", "This link has expired. Please ask your advisor for a new one."],
  err_link_revoked: ["Dieser Link wurde zurückgezogen. Bitte bitten Sie Ihren Berater um einen neuen.", "This link was withdrawn. Please ask your advisor for a new one."],
  err_link_used_up: ["Dieser Link wurde zu oft verwendet. Bitte bitten Sie Ihren Berater um einen neuen.", "This link was used too often. Please ask your advisor for a new one."],
  err_link_invalid: ["Dieser Link ist ungültig.", "This link is not valid."],
  err_code_invalid: ["Dieser Code ist ungültig oder abgelaufen. Bitte prüfen Sie die Ziffern.", "This code is invalid or has expired. Please check the digits."],
  err_throttled: ["Zu viele Versuche. Bitte warten Sie einige Minuten.", "Too many attempts. Please wait a few minutes."],
  err_conversation_ended: ["Dieses Gespräch ist bereits beendet.", "This session has already ended."],
  err_origin_not_allowed: ["Diese Website darf keine Beratung starten.", "This website may not start sessions."],
  err_consent_required: ["Bitte stimmen Sie der Beratung zu.", "Please agree to the session."],
  err_invalid_name: ["Bitte geben Sie einen Namen mit 1 bis 80 Zeichen ein.", "Please enter a name of 1 to 80 characters."],
  err_network: ["Keine Verbindung zum Server. Bitte prüfen Sie Ihre Internetverbindung.", "Cannot reach the server. Please check your internet connection."],
  err_generic: ["Etwas ist schiefgelaufen. Bitte versuchen Sie es erneut.", "Something went wrong. Please try again."],
  advisor_video: ["Video Ihres Beraters", "Your advisor's video"],
  your_video: ["Ihr eigenes Bild", "Your own picture"],
  mic_on: ["Mikrofon an", "Unmute"],
  mic_off: ["Mikrofon aus", "Mute"],
  camera_on: ["Kamera an", "Camera on"],
  camera_off: ["Kamera aus", "Camera off"],
  media_failed: ["Die Video-Verbindung ist gestört – sie wird wiederhergestellt.", "The video connection is disturbed – reconnecting."],
  err_camera_denied: ["Der Zugriff auf Kamera oder Mikrofon wurde nicht erlaubt. Sie können per Chat weitermachen oder den Zugriff in den Browser-Einstellungen erlauben.", "Access to camera or microphone was not allowed. You can continue in the chat, or allow access in your browser settings."],
  err_no_device: ["Keine Kamera oder kein Mikrofon gefunden.", "No camera or microphone found."],
  err_device_busy: ["Kamera oder Mikrofon wird gerade von einem anderen Programm benutzt.", "Camera or microphone is in use by another program."],
  err_device_error: ["Kamera oder Mikrofon lassen sich nicht öffnen.", "Camera or microphone cannot be opened."],
  share_screen: ["Bildschirm teilen", "Share screen"],
  stop_screen: ["Teilen beenden", "Stop sharing"],
  devices: ["Geräte", "Devices"],
  // Console
  conversations: ["Gespräche", "Conversations"],
  new_conversation: ["Neues Gespräch", "New conversation"],
  subject: ["Thema", "Subject"],
  customer_name: ["Name des Kunden", "Customer name"],
  create: ["Anlegen", "Create"],
  share_link: ["Link für den Kunden", "Link for the customer"],
  copy: ["Kopieren", "Copy"],
  copied: ["Kopiert", "Copied"],
  phone_code: ["Code für Telefonkunden", "Code for phone customers"],
  valid_until: ["gültig bis", "valid until"],
  open: ["Öffnen", "Open"],
  state_created: ["angelegt", "created"],
  state_waiting: ["wartet", "waiting"],
  state_active: ["aktiv", "active"],
  state_ended: ["beendet", "ended"],
  waiting_customers: ["Wartende Kunden", "Waiting customers"],
  admit: ["Eintreten lassen", "Admit"],
  remove: ["Entfernen", "Remove"],
  end_session: ["Gespräch beenden", "End session"],
  participants: ["Teilnehmende", "Participants"],
  timeline: ["Verlauf", "Timeline"],
  back: ["Zurück", "Back"],
  none: ["Keine Gespräche.", "No conversations."],
  connected: ["verbunden", "connected"],
  disconnected: ["getrennt", "disconnected"],
  consent_given: ["Einwilligung", "Consent"],
  cobrowse: ["Seite des Kunden", "Customer's page"],
  cobrowse_waiting: ["Der Kunde teilt seine Seite noch nicht.", "The customer is not sharing their page yet."],
  mode_point: ["Zeigen", "Point"],
  mode_highlight: ["Markieren", "Highlight"],
  mode_control: ["Steuern", "Control"],
  request_control: ["Steuerung anfragen", "Request control"],
  release_control: ["Steuerung abgeben", "Release control"],
  control_none: ["Keine Steuerung", "No control"],
  control_requested: ["Steuerung angefragt – der Kunde muss zustimmen", "Control requested – the customer must agree"],
  control_granted: ["Sie steuern die Seite des Kunden", "You control the customer's page"],
  ev_conversation_created: ["Gespräch angelegt", "Conversation created"],
  ev_participant_joined: ["ist beigetreten", "joined"],
  ev_consent_given: ["hat eingewilligt", "gave consent"],
  ev_consent_updated: ["hat die Einwilligung geändert", "changed consent"],
  ev_conversation_waiting: ["Kunde wartet", "Customer waiting"],
  ev_participant_admitted: ["wurde eingelassen", "was admitted"],
  ev_conversation_active: ["Gespräch aktiv", "Conversation active"],
  ev_participant_left: ["hat das Gespräch verlassen", "left"],
  ev_chat: ["Chat", "Chat"],
  ev_share_created: ["Link erstellt", "Link created"],
  ev_share_revoked: ["Link zurückgezogen", "Link withdrawn"],
  ev_conversation_end_requested: ["Beenden angefordert", "End requested"],
  ev_conversation_ended: ["Gespräch beendet", "Conversation ended"],
  ev_media_started: ["startet", "started"],
  ev_media_stopped: ["beendet", "stopped"],
  ev_cobrowse_started: ["teilt die Seite", "shares the page"],
  ev_cobrowse_stopped: ["teilt die Seite nicht mehr", "stopped sharing the page"],
  ev_cobrowse_control_requested: ["Steuerung angefragt", "Control requested"],
  ev_cobrowse_control_granted: ["Steuerung erlaubt", "Control granted"],
  ev_cobrowse_control_denied: ["Steuerung abgelehnt", "Control denied"],
  ev_cobrowse_control_revoked: ["Steuerung entzogen", "Control revoked"],
  ev_cobrowse_control_released: ["Steuerung abgegeben", "Control released"],
  src_camera: ["Kamera", "Camera"],
  src_microphone: ["Mikrofon", "Microphone"],
  src_screen: ["Bildschirmfreigabe", "Screen share"],
  src_screen_audio: ["Bildschirmton", "Screen audio"],
  system: ["System", "System"],
} satisfies Record<string, [string, string]>;

export type TextKey = keyof typeof texts;

/** Returns the text for key in lang. */
export function t(lang: Lang, key: TextKey): string {
  return texts[key][lang === "en" ? 1 : 0];
}

/** Picks the language: explicit, then the page's, then the browser's, then German. */
export function pickLang(explicit?: string | null): Lang {
  for (const c of [explicit, document.documentElement.lang, ...(navigator.languages ?? [])]) {
    const l = (c ?? "").toLowerCase();
    if (l.startsWith("de")) return "de";
    if (l.startsWith("en")) return "en";
  }
  return "de";
}

/** The message for an API error code. */
export function errorText(lang: Lang, code: string): string {
  const key = ("err_" + code) as TextKey;
  return key in texts ? t(lang, key) : t(lang, "err_generic");
}
