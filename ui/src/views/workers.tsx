export function Workers(_props: Record<string, unknown>) { return <p>Coming.</p>; }
