export function EventsFeed(_props: Record<string, unknown>) { return <p>Coming.</p>; }
