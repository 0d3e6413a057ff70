export function VimPage(_props: Record<string, unknown>) { return <p>Coming.</p>; }
