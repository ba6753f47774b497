//! The welcome page creates the first admin, only for a local request, only once, and only with
//! the form's own state checker (CSRF).

use crate::harness::{Node, client, databases};

fn state_checker(page: &str) -> String {
    let marker = "name=\"stateChecker\" value=\"";
    let start = page.find(marker).expect("form has a state checker") + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn welcome_page_creates_the_first_admin_locally_once() {
    for db in databases().await {
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec!["start-dev".to_string(), "--http-port".into(), "0".into()];
        args.extend(db.args.iter().cloned());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let node = Node::start(dir.path(), &args, &[]);
        assert!(
            node.log().contains("No administrator yet"),
            "{}",
            node.log()
        );
        let http = client();

        let page = http.get(node.url("/")).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let page = page.text().await.unwrap();
        assert!(
            page.contains("<form"),
            "{}: local request sees the form",
            db.name
        );
        let checker = state_checker(&page);

        // Through a proxy the request is not local, even from loopback.
        let proxied = http
            .get(node.url("/"))
            .header("X-Forwarded-For", "203.0.113.7")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(proxied.contains("id=\"local-access-required\"") && !proxied.contains("<form"));
        let refused = http
            .post(node.url("/"))
            .header("X-Forwarded-For", "203.0.113.7")
            .form(&[
                ("username", "mallory"),
                ("password", "pw-123456"),
                ("passwordConfirmation", "pw-123456"),
                ("stateChecker", checker.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 403);

        // Without the cookie's value the form is refused (cross-site request).
        let forged = client()
            .post(node.url("/"))
            .form(&[
                ("username", "mallory"),
                ("password", "pw-123456"),
                ("passwordConfirmation", "pw-123456"),
                ("stateChecker", checker.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), 400);

        let mismatch = http
            .post(node.url("/"))
            .form(&[
                ("username", "root"),
                ("password", "pw-123456"),
                ("passwordConfirmation", "pw-654321"),
                ("stateChecker", checker.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(mismatch.status(), 400);
        let page = mismatch.text().await.unwrap();
        assert!(page.contains("don&#x27;t match"), "{page}");
        // Every form rendered carries a fresh state checker (and cookie).
        let checker = state_checker(&page);

        let created = http
            .post(node.url("/"))
            .form(&[
                ("username", "Root"),
                ("password", "pw-123456"),
                ("passwordConfirmation", "pw-123456"),
                ("stateChecker", checker.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 200);
        assert!(created.text().await.unwrap().contains("User created"));

        // Once an admin exists the form is gone, and a replayed post changes nothing.
        let again = http
            .post(node.url("/"))
            .form(&[
                ("username", "second"),
                ("password", "pw-123456"),
                ("passwordConfirmation", "pw-123456"),
                ("stateChecker", checker.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 409);
        let page = http
            .get(node.url("/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("id=\"admin-exists\"") && !page.contains("<form"));
        node.stop();
    }
}
